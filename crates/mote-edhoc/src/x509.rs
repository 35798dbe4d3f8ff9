//! X.509 credentials (RFC 9528 §3.5.2, RFC 9360) on the `x509-cert` crate: the subject public
//! key, and chain validation to a configured trust anchor behind [`TrustAnchors`] (RFC 5280
//! §6.1 path validation as far as EDHOC needs it: names, signatures, validity at a time the
//! caller gives, basicConstraints, pathLenConstraint, keyUsage).

use alloc::vec::Vec;
use core::time::Duration;

use x509_cert::Certificate;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

use crate::credential::KeyType;
use crate::crypto::{Crypto, PublicKey};
use crate::error::Error;
use crate::suite::{Method, SignatureAlgorithm};

const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
// RFC 5280 §4.2.1.9 id-ce-basicConstraints, §4.2.1.3 id-ce-keyUsage.
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");

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

    /// As [`TrustAnchors::validate`], and the leaf's key may be used as `key_use` says. The
    /// provided implementation ignores `key_use`; [`TrustAnchor`] checks the leaf's keyUsage.
    fn validate_for<C: Crypto>(
        &self,
        chain: &[&[u8]],
        key_use: LeafKeyUse,
        crypto: &mut C,
    ) -> Result<(), Error> {
        let _ = key_use;
        self.validate(chain, crypto)
    }
}

/// The time at which certificate validity periods are checked (RFC 5280 §6.1.3 (a)(2)).
///
/// The library has no clock: the caller gives the time, gives its own clock, or says
/// explicitly that validity periods are not checked.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ValidationTime {
    /// Check at this time, given as the time since the Unix epoch (1970-01-01T00:00:00Z).
    At(Duration),
    /// Read the caller's clock (time since the Unix epoch) at every validation: for long-running
    /// applications, whose certificates may expire while they run.
    Clock(fn() -> Duration),
    /// Do not check validity periods, for devices without a trustworthy time. The chain is
    /// then accepted with certificates that expired or are not yet valid: an application that
    /// chooses this takes on revocation of expired keys by other means.
    Unchecked,
}

impl ValidationTime {
    fn now(self) -> Option<Duration> {
        match self {
            Self::At(t) => Some(t),
            Self::Clock(clock) => Some(clock()),
            Self::Unchecked => None,
        }
    }
}

/// What EDHOC uses the leaf certificate's key for (RFC 9528 §3.2): signatures (the party
/// signs in its method) or static Diffie-Hellman. When the leaf has a keyUsage extension it
/// must allow this use (RFC 5280 §4.2.1.3: digitalSignature, keyAgreement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeafKeyUse {
    /// Signature authentication: keyUsage must include digitalSignature.
    Signature,
    /// Static DH authentication: keyUsage must include keyAgreement.
    KeyAgreement,
    /// Not known (the method is not known yet): keyUsage must include either.
    Either,
}

impl LeafKeyUse {
    /// The use of the key of the party that is the Initiator (`initiator == true`) or the
    /// Responder under `method`.
    ///
    /// ```
    /// use mote_edhoc::{LeafKeyUse, Method};
    /// // Method 1 (RFC 9528 §3.2): the Initiator signs, the Responder uses static DH.
    /// assert_eq!(LeafKeyUse::for_method(Method::SignStatic, true), LeafKeyUse::Signature);
    /// assert_eq!(LeafKeyUse::for_method(Method::SignStatic, false), LeafKeyUse::KeyAgreement);
    /// assert_eq!(LeafKeyUse::for_method(Method::StaticSign, true), LeafKeyUse::KeyAgreement);
    /// assert_eq!(LeafKeyUse::for_method(Method::SignSign, false), LeafKeyUse::Signature);
    /// ```
    pub fn for_method(method: Method, initiator: bool) -> Self {
        let static_dh = if initiator {
            method.initiator_static_dh()
        } else {
            method.responder_static_dh()
        };
        if static_dh {
            Self::KeyAgreement
        } else {
            Self::Signature
        }
    }
}

/// Why a certificate chain is not trusted. `index` is the certificate's position: 0 is the
/// leaf, then the certificates of the chain in order, and the chain's length is the trust
/// anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The chain holds no certificate.
    #[error("empty certificate chain")]
    EmptyChain,
    /// A certificate does not parse as DER X.509.
    #[error("certificate {index} does not parse")]
    Malformed {
        /// Position in the chain.
        index: usize,
    },
    /// A certificate's issuer name is not the subject name of the next one.
    #[error("certificate {index}: issuer name is not the next certificate's subject")]
    IssuerMismatch {
        /// Position in the chain.
        index: usize,
    },
    /// A certificate's signature does not verify with its issuer's key.
    #[error("certificate {index}: signature does not verify")]
    BadSignature {
        /// Position in the chain.
        index: usize,
    },
    /// The signature algorithm (or the issuer's key type) is not Ed25519 or ECDSA P-256/SHA-256.
    #[error("certificate {index}: unsupported signature algorithm")]
    UnsupportedSignature {
        /// Position in the chain.
        index: usize,
    },
    /// The validation time is before the certificate's notBefore.
    #[error("certificate {index} is not yet valid")]
    NotYetValid {
        /// Position in the chain.
        index: usize,
    },
    /// The validation time is after the certificate's notAfter.
    #[error("certificate {index} has expired")]
    Expired {
        /// Position in the chain.
        index: usize,
    },
    /// A certificate that issues another is not a CA: basicConstraints absent or cA FALSE
    /// (RFC 5280 §4.2.1.9, §6.1.4 (k)).
    #[error("certificate {index} issues a certificate but is not a CA")]
    NotCa {
        /// Position in the chain.
        index: usize,
    },
    /// More non-self-issued intermediate certificates follow a CA than its pathLenConstraint
    /// allows (RFC 5280 §4.2.1.9, §6.1.4 (l), (m)).
    #[error("certificate {index}: pathLenConstraint {limit} exceeded by {found} intermediates")]
    PathLenExceeded {
        /// Position in the chain.
        index: usize,
        /// The certificate's pathLenConstraint.
        limit: u8,
        /// Non-self-issued intermediates below it.
        found: usize,
    },
    /// A certificate that issues another has a keyUsage without keyCertSign (RFC 5280
    /// §4.2.1.3, §6.1.4 (n)).
    #[error("certificate {index}: keyUsage lacks keyCertSign")]
    NoKeyCertSign {
        /// Position in the chain.
        index: usize,
    },
    /// The leaf's keyUsage does not allow the use EDHOC makes of its key.
    #[error("leaf keyUsage does not allow {0:?}")]
    LeafKeyUsage(LeafKeyUse),
    /// A critical extension this implementation does not process (RFC 5280 §4.2, §6.1.4 (o)).
    #[error("certificate {index}: unrecognized critical extension")]
    UnknownCriticalExtension {
        /// Position in the chain.
        index: usize,
    },
    /// A basicConstraints or keyUsage extension that does not parse or occurs twice.
    #[error("certificate {index}: malformed extension")]
    BadExtension {
        /// Position in the chain.
        index: usize,
    },
}

impl From<CertificateError> for Error {
    fn from(e: CertificateError) -> Self {
        Error::Certificate(e)
    }
}

/// A single configured root certificate (the trust anchor, RFC 5280 §6.1.1 (d)). A chain is
/// trusted when (RFC 5280 §6.1, as far as EDHOC needs it):
/// - each certificate is issued (name, and an Ed25519 or ECDSA P-256/SHA-256 signature) by
///   the next, and the last by the anchor;
/// - each certificate that issues another (the chain's intermediates) is a CA
///   (basicConstraints cA TRUE), its keyUsage, if present, includes keyCertSign, and its
///   pathLenConstraint, if any, is honoured; the anchor's keyUsage and pathLenConstraint are
///   honoured when present, its cA flag is not required (it is trusted by configuration);
/// - no certificate has a critical extension other than basicConstraints and keyUsage;
/// - the leaf's keyUsage, if present, allows the [`LeafKeyUse`];
/// - at the [`ValidationTime`], every certificate and the anchor are within their validity
///   period.
///
/// A chain may end with the anchor itself (RFC 9360 §2 allows senders to include it); that
/// copy is skipped.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    root_der: Vec<u8>,
    root: Certificate,
    time: ValidationTime,
}

/// The two extensions that path validation reads (RFC 5280 §4.2.1.3, §4.2.1.9).
#[derive(Default)]
struct Constraints {
    basic: Option<BasicConstraints>,
    key_usage: Option<KeyUsage>,
}

fn constraints(cert: &Certificate, index: usize) -> Result<Constraints, CertificateError> {
    let mut out = Constraints::default();
    let bad = CertificateError::BadExtension { index };
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        let value = ext.extn_value.as_bytes();
        if ext.extn_id == OID_BASIC_CONSTRAINTS {
            // RFC 5280 §4.2: an extension occurs at most once.
            if out.basic.is_some() {
                return Err(bad);
            }
            out.basic = Some(BasicConstraints::from_der(value).map_err(|_| bad)?);
        } else if ext.extn_id == OID_KEY_USAGE {
            if out.key_usage.is_some() {
                return Err(bad);
            }
            out.key_usage = Some(KeyUsage::from_der(value).map_err(|_| bad)?);
        } else if ext.critical {
            return Err(CertificateError::UnknownCriticalExtension { index });
        }
    }
    Ok(out)
}

fn self_issued(cert: &Certificate) -> bool {
    cert.tbs_certificate.issuer == cert.tbs_certificate.subject
}

impl TrustAnchor {
    /// A trust anchor from the root's DER certificate; validity periods are checked at `time`
    /// (use [`ValidationTime::Unchecked`] to skip them, an explicit choice).
    ///
    /// ```
    /// use core::time::Duration;
    /// use mote_edhoc::{CertificateError, LeafKeyUse, MoteCrypto, TrustAnchor, ValidationTime};
    /// # let root: &[u8] = include_bytes!("../tests/data/x509/root.der");
    /// # let leaf: &[u8] = include_bytes!("../tests/data/x509/leaf_root.der");
    /// // `root` and `leaf`: DER certificates of the crate's tests (tests/data/x509): a self-signed
    /// // P-256 CA, and an end entity it issued (digitalSignature, 2024-01-01 .. 2049-12-31).
    /// let june_2025 = Duration::from_secs(1_748_736_000);
    /// let anchor = TrustAnchor::new(root, ValidationTime::At(june_2025))?;
    /// assert_eq!(anchor.validate_chain(&[leaf], LeafKeyUse::Signature, &mut MoteCrypto::new()), Ok(()));
    /// // In 2023 the leaf was not valid yet.
    /// let early = TrustAnchor::new(root, ValidationTime::At(Duration::from_secs(1_672_531_200)))?;
    /// assert_eq!(
    ///     early.validate_chain(&[leaf], LeafKeyUse::Signature, &mut MoteCrypto::new()),
    ///     Err(CertificateError::NotYetValid { index: 0 })
    /// );
    /// assert!(TrustAnchor::new(&root[..20], ValidationTime::Unchecked).is_err()); // not a certificate
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(root_der: &[u8], time: ValidationTime) -> Result<Self, Error> {
        Ok(Self {
            root_der: root_der.to_vec(),
            root: parse(root_der)?,
            time,
        })
    }

    /// The time validity periods are checked at.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mote_edhoc::{TrustAnchor, ValidationTime};
    /// # let root: &[u8] = include_bytes!("../tests/data/x509/root.der");
    /// let t = Duration::from_secs(1_748_736_000);
    /// let anchor = TrustAnchor::new(root, ValidationTime::At(t))?;
    /// assert!(matches!(anchor.validation_time(), ValidationTime::At(at) if at == t));
    /// let anchor = TrustAnchor::new(root, ValidationTime::Unchecked)?;
    /// assert!(matches!(anchor.validation_time(), ValidationTime::Unchecked));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validation_time(&self) -> ValidationTime {
        self.time
    }

    fn check_time(
        cert: &Certificate,
        now: Option<Duration>,
        index: usize,
    ) -> Result<(), CertificateError> {
        if let Some(now) = now {
            let v = &cert.tbs_certificate.validity;
            // RFC 5280 §4.1.2.5: the period includes notBefore and notAfter.
            if now < v.not_before.to_unix_duration() {
                return Err(CertificateError::NotYetValid { index });
            }
            if now > v.not_after.to_unix_duration() {
                return Err(CertificateError::Expired { index });
            }
        }
        Ok(())
    }

    /// Validates `chain` (DER, leaf first) to this anchor, the leaf's key to be used as
    /// `key_use`; the error says which check failed at which certificate.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mote_edhoc::{CertificateError, LeafKeyUse, MoteCrypto, TrustAnchor, ValidationTime};
    /// # let root: &[u8] = include_bytes!("../tests/data/x509/root.der");
    /// # let inter: &[u8] = include_bytes!("../tests/data/x509/inter.der");
    /// # let leaf_inter: &[u8] = include_bytes!("../tests/data/x509/leaf_inter.der");
    /// # let leaf_ka: &[u8] = include_bytes!("../tests/data/x509/leaf_ka.der");
    /// // The crate's test PKI (tests/data/x509): root CA -> intermediate CA -> leaf, and a leaf
    /// // of the root whose keyUsage is keyAgreement only.
    /// let anchor = TrustAnchor::new(root, ValidationTime::At(Duration::from_secs(1_748_736_000)))?;
    /// let crypto = &mut MoteCrypto::new();
    /// // Leaf first; the anchor itself may be appended or left out.
    /// assert_eq!(anchor.validate_chain(&[leaf_inter, inter], LeafKeyUse::Signature, crypto), Ok(()));
    /// assert_eq!(anchor.validate_chain(&[leaf_inter, inter, root], LeafKeyUse::Either, crypto), Ok(()));
    /// // Without its intermediate the leaf does not chain to the root.
    /// assert!(anchor.validate_chain(&[leaf_inter], LeafKeyUse::Signature, crypto).is_err());
    /// // A key-agreement key cannot sign (RFC 5280 §4.2.1.3).
    /// assert_eq!(anchor.validate_chain(&[leaf_ka], LeafKeyUse::KeyAgreement, crypto), Ok(()));
    /// assert_eq!(
    ///     anchor.validate_chain(&[leaf_ka], LeafKeyUse::Signature, crypto),
    ///     Err(CertificateError::LeafKeyUsage(LeafKeyUse::Signature))
    /// );
    /// assert_eq!(anchor.validate_chain(&[], LeafKeyUse::Signature, crypto), Err(CertificateError::EmptyChain));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validate_chain<C: Crypto>(
        &self,
        chain: &[&[u8]],
        key_use: LeafKeyUse,
        crypto: &mut C,
    ) -> Result<(), CertificateError> {
        let chain = match chain.split_last() {
            None => return Err(CertificateError::EmptyChain),
            Some((last, rest)) if !rest.is_empty() && *last == self.root_der.as_slice() => rest,
            Some(_) => chain,
        };
        let certs: Vec<Certificate> = chain
            .iter()
            .enumerate()
            .map(|(index, d)| {
                Certificate::from_der(d).map_err(|_| CertificateError::Malformed { index })
            })
            .collect::<Result<_, _>>()?;
        let now = self.time.now();
        let anchor_index = certs.len();
        // Non-self-issued intermediates seen so far, walking from the leaf up (§6.1.4 (l)).
        let mut intermediates = 0usize;
        for (index, cert) in certs.iter().enumerate() {
            Self::check_time(cert, now, index)?;
            let own = constraints(cert, index)?;
            if index == 0 {
                if let Some(ku) = own.key_usage {
                    let ok = match key_use {
                        LeafKeyUse::Signature => ku.digital_signature(),
                        LeafKeyUse::KeyAgreement => ku.key_agreement(),
                        LeafKeyUse::Either => ku.digital_signature() || ku.key_agreement(),
                    };
                    if !ok {
                        return Err(CertificateError::LeafKeyUsage(key_use));
                    }
                }
            } else {
                // An intermediate: it issued certs[index - 1].
                if !own.basic.as_ref().is_some_and(|b| b.ca) {
                    return Err(CertificateError::NotCa { index });
                }
                Self::check_issuer(&own, index, intermediates)?;
                if !self_issued(cert) {
                    intermediates += 1;
                }
            }
            let issuer = certs.get(index + 1).unwrap_or(&self.root);
            verify_issued(cert, issuer, crypto).map_err(|e| match e {
                IssueCheck::Name => CertificateError::IssuerMismatch { index },
                IssueCheck::Signature => CertificateError::BadSignature { index },
                IssueCheck::Unsupported => CertificateError::UnsupportedSignature { index },
            })?;
        }
        Self::check_time(&self.root, now, anchor_index)?;
        let anchor = constraints(&self.root, anchor_index)?;
        Self::check_issuer(&anchor, anchor_index, intermediates)
    }

    /// The checks on a certificate that issued the one below it, with `below` non-self-issued
    /// intermediates between it and the leaf.
    fn check_issuer(c: &Constraints, index: usize, below: usize) -> Result<(), CertificateError> {
        if c.key_usage.is_some_and(|ku| !ku.key_cert_sign()) {
            return Err(CertificateError::NoKeyCertSign { index });
        }
        if let Some(limit) = c.basic.as_ref().and_then(|b| b.path_len_constraint) {
            if below > usize::from(limit) {
                return Err(CertificateError::PathLenExceeded {
                    index,
                    limit,
                    found: below,
                });
            }
        }
        Ok(())
    }
}

impl TrustAnchors for TrustAnchor {
    fn validate<C: Crypto>(&self, chain: &[&[u8]], crypto: &mut C) -> Result<(), Error> {
        Ok(self.validate_chain(chain, LeafKeyUse::Either, crypto)?)
    }

    fn validate_for<C: Crypto>(
        &self,
        chain: &[&[u8]],
        key_use: LeafKeyUse,
        crypto: &mut C,
    ) -> Result<(), Error> {
        Ok(self.validate_chain(chain, key_use, crypto)?)
    }
}

/// Which part of "issued by" failed.
enum IssueCheck {
    Name,
    Signature,
    Unsupported,
}

fn verify_issued<C: Crypto>(
    cert: &Certificate,
    issuer: &Certificate,
    crypto: &mut C,
) -> Result<(), IssueCheck> {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(IssueCheck::Name);
    }
    // The signed bytes are re-encoded from the parsed TBSCertificate: DER is canonical, and a
    // certificate whose encoding is not would fail the signature check.
    let tbs: Vec<u8> = cert
        .tbs_certificate
        .to_der()
        .map_err(|_| IssueCheck::Signature)?;
    let sig = cert.signature.as_bytes().ok_or(IssueCheck::Signature)?;
    let (key_type, public) = key_of(issuer).map_err(|_| IssueCheck::Unsupported)?;
    let oid = cert.signature_algorithm.oid;
    if oid == OID_ED25519 && key_type == KeyType::Ed25519 {
        crypto
            .verify(SignatureAlgorithm::EdDsa, &public, &tbs, sig)
            .map_err(|_| IssueCheck::Signature)
    } else if oid == OID_ECDSA_SHA256 && key_type == KeyType::P256 {
        let raw = ecdsa_der_to_raw(sig).map_err(|_| IssueCheck::Signature)?;
        crypto
            .verify(SignatureAlgorithm::Es256, &public, &tbs, &raw)
            .map_err(|_| IssueCheck::Signature)
    } else {
        Err(IssueCheck::Unsupported)
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
