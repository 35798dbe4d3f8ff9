//! Authentication credentials CRED_x (RFC 9528 §3.5.2) and their lookup.

use crate::buffer::{Bytes, MAX_CRED_LEN, MAX_KID_LEN, array32};
use crate::cbor;
use crate::crypto::{Crypto, PublicKey};
use crate::error::Error;
use crate::id_cred::{IdCred, IdCredRef};
use crate::suite::CipherSuite;
#[cfg(feature = "x509")]
use crate::suite::HashAlgorithm;

/// COSE_Key parameters (RFC 9052 §7.1, RFC 9053 §7).
const KEY_KTY: i64 = 1;
const KEY_KID: i64 = 2;
const KEY_CRV: i64 = -1;
const KEY_X: i64 = -2;
const KEY_Y: i64 = -3;
const KTY_OKP: i64 = 1;
const KTY_EC2: i64 = 2;
const CRV_P256: i64 = 1;
const CRV_X25519: i64 = 4;
const CRV_ED25519: i64 = 6;
/// CWT claim 'cnf' (RFC 8747) and its 'COSE_Key' member.
const CLAIM_CNF: i64 = 8;
const CNF_COSE_KEY: i64 = 1;
/// COSE hash algorithms for x5t (RFC 9054): SHA-256 and SHA-256/64.
#[cfg(feature = "x509")]
const COSE_SHA256: i64 = -16;
#[cfg(feature = "x509")]
const COSE_SHA256_64: i64 = -15;

/// The key type inside a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// An Ed25519 signature key.
    Ed25519,
    /// An X25519 static DH key.
    X25519,
    /// A P-256 key (ES256 signature or static DH).
    P256,
}

/// The format of a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A CWT Claims Set with a COSE_Key in 'cnf' (RFC 9528 §3.5.2); CRED_x is the CCS map.
    Ccs,
    /// A CWT (RFC 8392): a COSE_Sign1 or COSE_Mac0 over a claims set with 'cnf'; CRED_x is the
    /// CWT as encoded (RFC 9528 §3.5.2).
    Cwt,
    /// An X.509 certificate; CRED_x is the DER certificate as a CBOR bstr (RFC 9528 §3.5.2).
    X509,
}

/// An authentication credential: CRED_x as it enters the transcript, plus its public key.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Credential {
    cred: Bytes<MAX_CRED_LEN>,
    kind: CredentialKind,
    key_type: KeyType,
    public_key: PublicKey,
    kid: Option<Bytes<MAX_KID_LEN>>,
    // Only [`Credential::x509`] makes an X.509 credential, so without the `x509` feature the
    // certificate paths below (x5t, x5chain) are not built.
    #[cfg(feature = "x509")]
    cert_sha256: Option<[u8; 32]>,
}

impl Credential {
    /// A CCS credential from its CBOR encoding (the map of claims with 'cnf').
    ///
    /// ```
    /// use mote_edhoc::{Credential, CredentialKind, KeyType};
    /// // {2: "R", 8: {1: {1: 1 (OKP), 2: h'32', -1: 4 (X25519), -2: x}}}
    /// let mut ccs = b"\xa2\x02\x61R\x08\xa1\x01\xa4\x01\x01\x02\x41\x32\x20\x04\x21\x58\x20".to_vec();
    /// ccs.extend([0x2c; 32]);
    /// let cred = Credential::ccs(&ccs)?;
    /// assert_eq!((cred.kind(), cred.key_type(), cred.kid()), (CredentialKind::Ccs, KeyType::X25519, Some(&[0x32][..])));
    /// assert!(Credential::ccs(b"\xa0").is_err()); // no 'cnf'
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn ccs(encoded: &[u8]) -> Result<Self, Error> {
        let mut r = cbor::reader(encoded);
        let n = r
            .map()
            .map_err(|_| Error::InvalidCredential(diag!("CCS is not a map")))?;
        let mut key = None;
        for _ in 0..n {
            let label = claim_label(&mut r)?;
            if label == Some(CLAIM_CNF) {
                let m = r
                    .map()
                    .map_err(|_| Error::InvalidCredential(diag!("cnf is not a map")))?;
                for _ in 0..m {
                    let l = claim_label(&mut r)?;
                    if l == Some(CNF_COSE_KEY) {
                        cose_key(&mut r, &mut key)?;
                    } else {
                        r.item()?;
                    }
                }
            } else {
                r.item()?;
            }
        }
        if !r.is_empty() {
            return Err(Error::InvalidCredential(diag!("trailing bytes after CCS")));
        }
        let (key_type, public_key, kid) =
            key.ok_or(Error::InvalidCredential(diag!("CCS without cnf COSE_Key")))?;
        // `cose_key` checked the length.
        let kid = match kid {
            Some(k) => Some(Bytes::from_slice(k)?),
            None => None,
        };
        Ok(Self {
            cred: Bytes::from_slice(encoded).map_err(|_| Error::Capacity {
                what: diag!("credential"),
                needed: encoded.len(),
            })?,
            kind: CredentialKind::Ccs,
            key_type,
            public_key,
            kid,
            #[cfg(feature = "x509")]
            cert_sha256: None,
        })
    }

    /// A CWT credential, after checking its issuer's protection (RFC 8392 §7.2): `cwt` is a
    /// COSE_Sign1 or COSE_Mac0 (tagged or not) whose payload is a claims set with 'cnf'.
    ///
    /// ```
    /// use mote_cose::algorithm::{SignatureAlgorithm, SigningKey};
    /// use mote_cose::header::{Header, Label};
    /// use mote_cose::message::Sign1Builder;
    /// use mote_edhoc::{Credential, CredentialKind, CwtIssuer, KeyType, PublicKey};
    ///
    /// // The claims set: a CCS for the device's key (here an X25519 key for static DH).
    /// let ccs = Credential::ccs_from_public_key("device", b"D", KeyType::X25519, &PublicKey::from_x(&[0x2c; 32])?)?;
    /// // The issuer signs it into a CWT (a tagged COSE_Sign1 with EdDSA).
    /// let issuer = SigningKey::from_bytes(SignatureAlgorithm::EdDsa, &[0x42; 32])?;
    /// let sign1 = Sign1Builder {
    ///     protected: Header { alg: Some(Label::Int(-8)), ..Header::default() },
    ///     tagged: true,
    ///     ..Sign1Builder::default()
    /// };
    /// let mut cwt = vec![0u8; sign1.encoded_len(&issuer, ccs.as_bytes().len())];
    /// let mut scratch = vec![0u8; ccs.as_bytes().len() + 64];
    /// let n = sign1.sign_into(&issuer, ccs.as_bytes(), &[], &mut scratch, &mut cwt)?;
    /// cwt.truncate(n);
    ///
    /// let cred = Credential::cwt(&cwt, CwtIssuer::Signature(&issuer.verifying_key()))?;
    /// assert_eq!(cred.kind(), CredentialKind::Cwt);
    /// assert_eq!(cred.public_key(), ccs.public_key()); // the key of the claims set
    /// assert_eq!(cred.as_bytes(), cwt.as_slice()); // CRED is the CWT itself
    /// // Another issuer's key, or a changed byte, and it is not a credential.
    /// let other = SigningKey::from_bytes(SignatureAlgorithm::EdDsa, &[0x43; 32])?.verifying_key();
    /// assert!(Credential::cwt(&cwt, CwtIssuer::Signature(&other)).is_err());
    /// cwt[n - 1] ^= 1;
    /// assert!(Credential::cwt(&cwt, CwtIssuer::Signature(&issuer.verifying_key())).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn cwt(cwt: &[u8], issuer: CwtIssuer<'_>) -> Result<Self, Error> {
        let bad = |_| Error::InvalidCredential(diag!("CWT protection does not verify"));
        let claims = match issuer {
            CwtIssuer::Signature(key) => {
                let m = mote_cose::message::Sign1::decode(cwt)
                    .map_err(|_| Error::InvalidCredential(diag!("CWT is not a COSE_Sign1")))?;
                let mut scratch = [0u8; crate::buffer::MAX_MESSAGE_LEN + 64];
                m.verify_with(key, &[], None, &mut scratch).map_err(bad)?
            }
            CwtIssuer::Mac(key) => {
                let m = mote_cose::message::Mac0::decode(cwt)
                    .map_err(|_| Error::InvalidCredential(diag!("CWT is not a COSE_Mac0")))?;
                m.verify(key, &[], None).map_err(bad)?
            }
        };
        let inner = Self::ccs(claims)?;
        Ok(Self {
            cred: Bytes::from_slice(cwt).map_err(|_| Error::Capacity {
                what: diag!("credential"),
                needed: cwt.len(),
            })?,
            kind: CredentialKind::Cwt,
            ..inner
        })
    }

    /// A CCS `{2: subject, 8: {1: COSE_Key}}` for a public key, with `kid` in the COSE_Key
    /// (the layout of RFC 9529 Trace 2's credentials).
    ///
    /// ```
    /// use mote_edhoc::{Credential, KeyType, PublicKey};
    /// let public = PublicKey::from_x(&[0x2c; 32])?;
    /// let cred = Credential::ccs_from_public_key("R", &[0x32], KeyType::X25519, &public)?;
    /// // {2: "R", 8: {1: {1: 1, 2: h'32', -1: 4, -2: h'2c2c…'}}}
    /// assert_eq!(cred.as_bytes()[..18], *b"\xa2\x02\x61R\x08\xa1\x01\xa4\x01\x01\x02\x41\x32\x20\x04\x21\x58\x20");
    /// assert_eq!(cred.public_key(), &public);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn ccs_from_public_key(
        subject: &str,
        kid: &[u8],
        key_type: KeyType,
        public: &PublicKey,
    ) -> Result<Self, Error> {
        let mut b = Bytes::<MAX_CRED_LEN>::new();
        cbor::head(&mut b, cbor::Major::Map, 2)?;
        cbor::int(&mut b, 2)?;
        cbor::text(&mut b, subject)?;
        cbor::int(&mut b, CLAIM_CNF)?;
        cbor::head(&mut b, cbor::Major::Map, 1)?;
        cbor::int(&mut b, CNF_COSE_KEY)?;
        let (kty, crv) = match key_type {
            KeyType::Ed25519 => (KTY_OKP, CRV_ED25519),
            KeyType::X25519 => (KTY_OKP, CRV_X25519),
            KeyType::P256 => (KTY_EC2, CRV_P256),
        };
        let y = if key_type == KeyType::P256 {
            public.y
        } else {
            None
        };
        cbor::head(
            &mut b,
            cbor::Major::Map,
            if y.is_some() { 5 } else { 4 } as u64,
        )?;
        cbor::int(&mut b, KEY_KTY)?;
        cbor::int(&mut b, kty)?;
        cbor::int(&mut b, KEY_KID)?;
        cbor::bytes(&mut b, kid)?;
        cbor::int(&mut b, KEY_CRV)?;
        cbor::int(&mut b, crv)?;
        cbor::int(&mut b, KEY_X)?;
        cbor::bytes(&mut b, &public.x)?;
        if let Some(y) = y {
            cbor::int(&mut b, KEY_Y)?;
            cbor::bytes(&mut b, &y)?;
        }
        Self::ccs(b.as_slice())
    }

    /// A CCS for the private authentication key `private_key` of a party that authenticates
    /// with static DH (`static_dh`) or with signatures in `suite`: the key type follows the
    /// suite (its ECDH curve, or its signature algorithm), `crypto` derives the public key, and
    /// the CCS is laid out as [`Credential::ccs_from_public_key`] does.
    ///
    /// ```
    /// use mote_edhoc::*;
    /// // A fresh static DH key for suite 2 (P-256) and its credential: the public key is derived.
    /// let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// let mut crypto = MoteCrypto::new();
    /// let (key, public_x) = crypto.generate_ecdh_key(suite.curve)?;
    /// let cred = Credential::ccs_for_private_key(&mut crypto, &suite, true, "device", b"D", &key)?;
    /// assert_eq!(cred.key_type(), KeyType::P256);
    /// assert_eq!(cred.public_key().x, public_x);
    /// let identity = Identity::by_reference(cred, key.as_bytes())?; // what a config takes
    /// # let _ = identity;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn ccs_for_private_key<C: Crypto>(
        crypto: &mut C,
        suite: impl crate::suite::SuiteInput,
        static_dh: bool,
        subject: &str,
        kid: &[u8],
        private_key: &(impl crate::buffer::KeyInput + ?Sized),
    ) -> Result<Self, Error> {
        use crate::suite::{Curve, SignatureAlgorithm};
        let suite = CipherSuite::from_input(suite)?;
        let private_key = &crate::buffer::Secret::from_slice(private_key.key_bytes())?;
        let (key_type, public) = match (static_dh, suite.curve, suite.signature) {
            (true, Curve::X25519, _) => (
                KeyType::X25519,
                PublicKey::from_x(&crypto.ecdh_public_key(Curve::X25519, private_key)?)?,
            ),
            (true, Curve::P256, _) | (false, _, SignatureAlgorithm::Es256) => (
                KeyType::P256,
                crypto.signature_public_key(SignatureAlgorithm::Es256, private_key)?,
            ),
            (false, _, SignatureAlgorithm::EdDsa) => (
                KeyType::Ed25519,
                crypto.signature_public_key(SignatureAlgorithm::EdDsa, private_key)?,
            ),
        };
        Self::ccs_from_public_key(subject, kid, key_type, &public)
    }

    /// An X.509 credential from the DER certificate; `crypto` computes its SHA-256 for 'x5t'.
    ///
    /// ```
    /// use mote_edhoc::{Credential, CredentialKind, KeyType, MoteCrypto};
    /// # let trace = include_str!("../tests/data/rfc9529_trace1.txt");
    /// # let v = |key: &str| -> Vec<u8> {
    /// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
    /// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
    /// # };
    /// // v(key): the value of `key` in RFC 9529 Trace 1 (the crate's tests/data).
    /// // The Responder's certificate of RFC 9529 Trace 1 (Ed25519).
    /// let cred = Credential::x509(&v("CRED_R.raw"), &mut MoteCrypto::new())?;
    /// assert_eq!(cred.kind(), CredentialKind::X509);
    /// assert_eq!(cred.key_type(), KeyType::Ed25519);
    /// assert_eq!(cred.public_key().x.as_slice(), v("PK_R.raw"));
    /// assert_eq!(cred.as_bytes(), v("CRED_R.cbor")); // CRED_R: the DER as a CBOR bstr
    /// // Referenced by 'x5t' (its SHA-256 truncated to 64 bits), as the trace does.
    /// assert_eq!(cred.id_cred_by_reference()?.as_map(), v("ID_CRED_R.cbor"));
    /// assert!(Credential::x509(&[0x30, 0x03, 0x02, 0x01, 0x00], &mut MoteCrypto::new()).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "x509")]
    #[inline(never)]
    pub fn x509<C: Crypto>(der: &[u8], crypto: &mut C) -> Result<Self, Error> {
        let (key_type, public_key) = crate::x509::subject_public_key(der)?;
        let mut cred = Bytes::new();
        cbor::bytes(&mut cred, der).map_err(|_| Error::Capacity {
            what: diag!("credential"),
            needed: der.len() + 3,
        })?;
        let digest = crypto.hash(HashAlgorithm::Sha256, &[der])?;
        let mut h = [0u8; 32];
        h.copy_from_slice(digest.as_slice().get(..32).ok_or(Error::Crypto)?);
        Ok(Self {
            cred,
            kind: CredentialKind::X509,
            key_type,
            public_key,
            kid: None,
            cert_sha256: Some(h),
        })
    }

    /// The credential an ID_CRED carries by value ('kccs', or 'x5chain' with the `x509`
    /// feature). A CWT by value ('kcwt') gives `None` here: it is only a credential once its
    /// issuer's protection is checked, with [`Credential::cwt`] on [`IdCredRef::Kcwt`]'s bytes. The caller still decides whether to trust it (a CCS is like a self-signed
    /// certificate, RFC 9528 §9.8; a chain is checked with `TrustAnchors`, feature `x509`).
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let public = PublicKey::from_x(&[0x2c; 32])?;
    /// # let cred = Credential::ccs_from_public_key("R", &[0x32], KeyType::X25519, &public)?;
    /// use mote_edhoc::MoteCrypto;
    /// // A CCS sent by value ('kccs') is the credential itself; by reference ('kid') it is not.
    /// let by_value = cred.id_cred_by_value()?;
    /// assert_eq!(Credential::from_id_cred(&by_value, &mut MoteCrypto::new())?, Some(cred.clone()));
    /// let by_reference = cred.id_cred_by_reference()?;
    /// assert_eq!(Credential::from_id_cred(&by_reference, &mut MoteCrypto::new())?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn from_id_cred<C: Crypto>(
        id_cred: &IdCred,
        crypto: &mut C,
    ) -> Result<Option<Self>, Error> {
        let _ = &crypto;
        match id_cred.reference() {
            IdCredRef::Kccs(ccs) => Self::ccs(ccs).map(Some),
            #[cfg(feature = "x509")]
            IdCredRef::X5chainLeaf(der) => Self::x509(der, crypto).map(Some),
            #[cfg(feature = "x509")]
            IdCredRef::X5chain(array) => {
                let mut r = cbor::reader(array);
                r.array()?;
                Self::x509(r.bytes()?, crypto).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// CRED_x: the CBOR data item that enters context_2/3 and the transcript hashes.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let public = PublicKey::from_x(&[0x2c; 32])?;
    /// # let cred = Credential::ccs_from_public_key("R", &[0x32], KeyType::X25519, &public)?;
    /// assert_eq!(cred.as_bytes()[0], 0xa2); // CRED_x as it enters the transcript: the CCS map
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.cred.as_slice()
    }

    /// The credential format.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let public = PublicKey::from_x(&[0x2c; 32])?;
    /// # let cred = Credential::ccs_from_public_key("R", &[0x32], KeyType::X25519, &public)?;
    /// assert_eq!(cred.kind(), CredentialKind::Ccs);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(&self) -> CredentialKind {
        self.kind
    }

    /// The type of the authentication key.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let public = PublicKey::from_x(&[0x2c; 32])?;
    /// # let cred = Credential::ccs_from_public_key("R", &[0x32], KeyType::X25519, &public)?;
    /// assert_eq!(cred.key_type(), KeyType::X25519);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The authentication public key.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let public = PublicKey::from_x(&[0x2c; 32])?;
    /// # let cred = Credential::ccs_from_public_key("R", &[0x32], KeyType::X25519, &public)?;
    /// assert_eq!(cred.public_key().x, [0x2c; 32]);
    /// assert_eq!(cred.public_key().y, None); // X25519 has no y
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The 'kid' of the CCS's COSE_Key, if any.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let public = PublicKey::from_x(&[0x2c; 32])?;
    /// # let cred = Credential::ccs_from_public_key("R", &[0x32], KeyType::X25519, &public)?;
    /// assert_eq!(cred.kid(), Some(&[0x32][..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kid(&self) -> Option<&[u8]> {
        self.kid.as_ref().map(|k| k.as_slice())
    }

    /// ID_CRED for this credential by reference: `{4: kid}` for a CCS with a kid, or
    /// `{34: [-15, SHA-256/64]}` (x5t) for a certificate.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let public = PublicKey::from_x(&[0x2c; 32])?;
    /// # let cred = Credential::ccs_from_public_key("R", &[0x32], KeyType::X25519, &public)?;
    /// let id_cred = cred.id_cred_by_reference()?;
    /// assert_eq!(id_cred.as_map(), b"\xa1\x04\x41\x32"); // {4: h'32'}
    /// let mut compact = Bytes::<8>::new();
    /// id_cred.encode_compact(&mut compact)?;
    /// assert_eq!(compact.as_slice(), b"\x32"); // the compact form (RFC 9528 §3.5.3.2)
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn id_cred_by_reference(&self) -> Result<IdCred, Error> {
        match (self.kind, self.kid()) {
            (CredentialKind::Ccs | CredentialKind::Cwt, Some(kid)) => IdCred::kid(kid),
            #[cfg(feature = "x509")]
            (CredentialKind::X509, _) if self.cert_sha256.is_some() => IdCred::x5t(
                COSE_SHA256_64,
                self.cert_sha256
                    .as_ref()
                    .and_then(|h| h.get(..8))
                    .unwrap_or(&[]),
            ),
            _ => Err(Error::InvalidCredential(diag!(
                "no reference (kid or certificate hash) for this credential"
            ))),
        }
    }

    /// ID_CRED carrying this credential by value: `{14: CCS}` or `{33: cert}`.
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let public = PublicKey::from_x(&[0x2c; 32])?;
    /// # let cred = Credential::ccs_from_public_key("R", &[0x32], KeyType::X25519, &public)?;
    /// let id_cred = cred.id_cred_by_value()?;
    /// assert_eq!(id_cred.as_map()[..2], [0xa1, 0x0e]); // {14: CCS}
    /// assert_eq!(&id_cred.as_map()[2..], cred.as_bytes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn id_cred_by_value(&self) -> Result<IdCred, Error> {
        match self.kind {
            CredentialKind::Ccs => IdCred::kccs(self.as_bytes()),
            CredentialKind::Cwt => IdCred::kcwt(self.as_bytes()),
            #[cfg(feature = "x509")]
            CredentialKind::X509 => {
                let mut r = cbor::reader(self.as_bytes());
                IdCred::x5chain(r.bytes()?)
            }
            #[cfg(not(feature = "x509"))]
            CredentialKind::X509 => Err(Error::InvalidCredential(diag!(
                "X.509 credentials need the x509 feature"
            ))),
        }
    }

    /// Whether `id_cred` refers to this credential (kid, x5t hash, or equal value).
    ///
    /// ```
    /// # use mote_edhoc::*;
    /// # let public = PublicKey::from_x(&[0x2c; 32])?;
    /// # let cred = Credential::ccs_from_public_key("R", &[0x32], KeyType::X25519, &public)?;
    /// assert!(cred.matches(&cred.id_cred_by_reference()?));
    /// assert!(cred.matches(&cred.id_cred_by_value()?));
    /// let other = Credential::ccs_from_public_key("S", &[0x33], KeyType::X25519, &PublicKey::from_x(&[7; 32])?)?;
    /// assert!(!cred.matches(&other.id_cred_by_reference()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(never)]
    pub fn matches(&self, id_cred: &IdCred) -> bool {
        match id_cred.reference() {
            IdCredRef::Kid(k) => self.kid() == Some(k),
            IdCredRef::Kccs(ccs) => self.kind == CredentialKind::Ccs && ccs == self.as_bytes(),
            IdCredRef::Kcwt(cwt) => self.kind == CredentialKind::Cwt && cwt == self.as_bytes(),
            #[cfg(feature = "x509")]
            IdCredRef::X5t(alg, hash) => match (self.cert_sha256, alg) {
                (Some(h), COSE_SHA256_64) => h.get(..8) == Some(hash),
                (Some(h), COSE_SHA256) => h.as_slice() == hash,
                _ => false,
            },
            #[cfg(feature = "x509")]
            IdCredRef::X5chainLeaf(der) => {
                let mut r = cbor::reader(self.as_bytes());
                self.kind == CredentialKind::X509 && r.bytes().ok() == Some(der)
            }
            _ => false,
        }
    }

    /// Checks the key fits the suite: the suite's ECDH curve for static DH, else its signature
    /// algorithm.
    #[inline(never)]
    pub(crate) fn check_usable(&self, suite: &CipherSuite, static_dh: bool) -> Result<(), Error> {
        use crate::suite::{Curve, SignatureAlgorithm};
        let ok = match (static_dh, self.key_type) {
            (true, KeyType::X25519) => suite.curve == Curve::X25519,
            (true, KeyType::P256) => suite.curve == Curve::P256,
            (false, KeyType::Ed25519) => suite.signature == SignatureAlgorithm::EdDsa,
            (false, KeyType::P256) => suite.signature == SignatureAlgorithm::Es256,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidCredential(diag!(
                "key type does not fit the cipher suite and method"
            )))
        }
    }
}

fn claim_label(r: &mut cbor::Decoder<'_>) -> Result<Option<i64>, Error> {
    match r.next_major() {
        Some(cbor::Major::Unsigned | cbor::Major::Negative) => Ok(Some(r.i64()?)),
        _ => {
            r.item()?;
            Ok(None)
        }
    }
}

/// A COSE_Key's type, public key and 'kid' (a slice of the input, at most [`MAX_KID_LEN`]
/// bytes): all `Copy`, so the parsers' early returns have nothing to drop.
type ParsedKey<'a> = (KeyType, PublicKey, Option<&'a [u8]>);

/// Reads a COSE_Key (RFC 9052 §7) with an OKP or EC2 public key.
#[inline(never)]
fn cose_key<'a>(r: &mut cbor::Decoder<'a>, out: &mut Option<ParsedKey<'a>>) -> Result<(), Error> {
    let n = r
        .map()
        .map_err(|_| Error::InvalidCredential(diag!("COSE_Key is not a map")))?;
    let (mut kty, mut crv, mut x, mut y, mut kid) = (None, None, None, None, None);
    for _ in 0..n {
        match claim_label(r)? {
            Some(KEY_KTY) => kty = Some(r.i64()?),
            Some(KEY_CRV) => crv = Some(r.i64()?),
            Some(KEY_KID) => kid = Some(r.bytes()?),
            Some(KEY_X) => x = Some(r.bytes()?),
            // RFC 9053 §7.1.1: y is a bstr or a bool (point compression); only the bstr is kept.
            Some(KEY_Y) if r.next_major() == Some(cbor::Major::Bytes) => y = Some(r.bytes()?),
            _ => {
                r.item()?;
            }
        }
    }
    let key_type = match (kty, crv) {
        (Some(KTY_OKP), Some(CRV_ED25519)) => KeyType::Ed25519,
        (Some(KTY_OKP), Some(CRV_X25519)) => KeyType::X25519,
        (Some(KTY_EC2), Some(CRV_P256)) => KeyType::P256,
        _ => {
            return Err(Error::InvalidCredential(diag!(
                "unsupported COSE_Key type or curve"
            )));
        }
    };
    let x = x.and_then(array32).ok_or(Error::InvalidCredential(diag!(
        "COSE_Key x missing or not 32 bytes"
    )))?;
    let y = match y {
        Some(y) => {
            Some(array32(y).ok_or(Error::InvalidCredential(diag!("COSE_Key y not 32 bytes")))?)
        }
        None => None,
    };
    if kid.is_some_and(|k| k.len() > MAX_KID_LEN) {
        return Err(Error::InvalidCredential(diag!("kid too long")));
    }
    *out = Some((key_type, PublicKey { x, y }, kid));
    Ok(())
}

/// The key that protects a CWT: its issuer's signature key or MAC key.
#[derive(Debug, Clone, Copy)]
pub enum CwtIssuer<'a> {
    /// COSE_Sign1, verified with the issuer's public key.
    Signature(&'a mote_cose::algorithm::VerifyingKey),
    /// COSE_Mac0, verified with the shared MAC key.
    Mac(&'a [u8]),
}

/// Looks up the peer's credential from its ID_CRED, between parsing and verifying a message.
pub trait CredentialLookup {
    /// The credential `id_cred` refers to, or `None` when unknown (answered with ERR_CODE 3).
    fn lookup(&mut self, id_cred: &IdCred) -> Option<Credential>;
}

impl<F: FnMut(&IdCred) -> Option<Credential>> CredentialLookup for F {
    fn lookup(&mut self, id_cred: &IdCred) -> Option<Credential> {
        self(id_cred)
    }
}

/// A fixed set of known peer credentials, matched by [`Credential::matches`].
#[derive(Debug, Clone, Copy)]
pub struct KnownCredentials<'a>(pub &'a [Credential]);

impl CredentialLookup for KnownCredentials<'_> {
    fn lookup(&mut self, id_cred: &IdCred) -> Option<Credential> {
        self.0.iter().find(|c| c.matches(id_cred)).cloned()
    }
}
