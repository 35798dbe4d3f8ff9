//! Methods (RFC 9528 §3.2) and cipher suites (§3.6, §10.2).

use crate::buffer::Bytes;
use crate::buffer::Sink;
use crate::cbor;
use crate::error::Error;

/// Authentication method (RFC 9528 §3.2, Table 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Method {
    /// 0: Initiator signature key, Responder signature key.
    SignSign = 0,
    /// 1: Initiator signature key, Responder static DH key.
    SignStatic = 1,
    /// 2: Initiator static DH key, Responder signature key.
    StaticSign = 2,
    /// 3: Initiator static DH key, Responder static DH key.
    StaticStatic = 3,
}

impl Method {
    /// All four methods.
    pub const ALL: [Method; 4] = [
        Method::SignSign,
        Method::SignStatic,
        Method::StaticSign,
        Method::StaticStatic,
    ];

    /// The method with this METHOD value.
    ///
    /// ```
    /// use mote_edhoc::Method;
    /// assert_eq!(Method::from_value(3), Some(Method::StaticStatic));
    /// assert_eq!(Method::from_value(4), None);
    /// ```
    pub fn from_value(v: i64) -> Option<Self> {
        match v {
            0 => Some(Self::SignSign),
            1 => Some(Self::SignStatic),
            2 => Some(Self::StaticSign),
            3 => Some(Self::StaticStatic),
            _ => None,
        }
    }

    /// The METHOD value.
    ///
    /// ```
    /// use mote_edhoc::Method;
    /// assert_eq!(Method::SignStatic.value(), 1);
    /// ```
    pub fn value(self) -> u8 {
        self as u8
    }

    /// Whether this build implements the method: all four, or only method 3 (static DH on both
    /// sides) without the `signatures` feature.
    ///
    /// ```
    /// use mote_edhoc::Method;
    /// assert!(Method::StaticStatic.is_supported()); // method 3 is always built
    /// ```
    pub fn is_supported(self) -> bool {
        cfg!(feature = "signatures") || self == Self::StaticStatic
    }

    /// Whether the Initiator authenticates with a static DH key.
    ///
    /// ```
    /// use mote_edhoc::Method;
    /// assert!(Method::StaticSign.initiator_static_dh() && !Method::StaticSign.responder_static_dh());
    /// ```
    pub fn initiator_static_dh(self) -> bool {
        matches!(self, Self::StaticSign | Self::StaticStatic)
    }

    /// Whether the Responder authenticates with a static DH key.
    ///
    /// ```
    /// use mote_edhoc::Method;
    /// assert!(Method::SignStatic.responder_static_dh() && !Method::SignStatic.initiator_static_dh());
    /// ```
    pub fn responder_static_dh(self) -> bool {
        matches!(self, Self::SignStatic | Self::StaticStatic)
    }
}

/// COSE AEAD algorithms used by the supported cipher suites (RFC 9053).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AeadAlgorithm {
    /// AES-CCM-16-64-128 (COSE 10): 16-byte key, 13-byte nonce, 8-byte tag.
    AesCcm16_64_128,
    /// AES-CCM-16-128-128 (COSE 30): 16-byte key, 13-byte nonce, 16-byte tag.
    AesCcm16_128_128,
    /// A128GCM (COSE 1): 16-byte key, 12-byte nonce, 16-byte tag.
    A128Gcm,
    /// ChaCha20/Poly1305 (COSE 24): 32-byte key, 12-byte nonce, 16-byte tag.
    ChaCha20Poly1305,
}

impl AeadAlgorithm {
    /// COSE algorithm identifier.
    ///
    /// ```
    /// assert_eq!(mote_edhoc::AeadAlgorithm::AesCcm16_64_128.cose_id(), 10);
    /// ```
    pub fn cose_id(self) -> i64 {
        match self {
            Self::AesCcm16_64_128 => 10,
            Self::AesCcm16_128_128 => 30,
            Self::A128Gcm => 1,
            Self::ChaCha20Poly1305 => 24,
        }
    }
    /// Key length in bytes.
    ///
    /// ```
    /// assert_eq!(mote_edhoc::AeadAlgorithm::ChaCha20Poly1305.key_len(), 32);
    /// ```
    pub fn key_len(self) -> usize {
        match self {
            Self::ChaCha20Poly1305 => 32,
            _ => 16,
        }
    }
    /// Nonce length in bytes.
    ///
    /// ```
    /// assert_eq!(mote_edhoc::AeadAlgorithm::AesCcm16_64_128.nonce_len(), 13);
    /// ```
    pub fn nonce_len(self) -> usize {
        match self {
            Self::AesCcm16_64_128 | Self::AesCcm16_128_128 => 13,
            _ => 12,
        }
    }
    /// Authentication tag length in bytes.
    ///
    /// ```
    /// use mote_edhoc::AeadAlgorithm;
    /// assert_eq!((AeadAlgorithm::AesCcm16_64_128.tag_len(), AeadAlgorithm::A128Gcm.tag_len()), (8, 16));
    /// ```
    pub fn tag_len(self) -> usize {
        match self {
            Self::AesCcm16_64_128 => 8,
            _ => 16,
        }
    }
}

/// Hash algorithms of the supported cipher suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256 (COSE -16).
    Sha256,
}

impl HashAlgorithm {
    /// COSE algorithm identifier.
    ///
    /// ```
    /// assert_eq!(mote_edhoc::HashAlgorithm::Sha256.cose_id(), -16);
    /// ```
    pub fn cose_id(self) -> i64 {
        -16
    }
    /// Output length in bytes.
    ///
    /// ```
    /// assert_eq!(mote_edhoc::HashAlgorithm::Sha256.output_len(), 32);
    /// ```
    pub fn output_len(self) -> usize {
        32
    }
}

/// Key exchange curves (COSE Elliptic Curves registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Curve {
    /// X25519 (COSE crv 4); public keys are the 32-byte u-coordinate.
    X25519,
    /// P-256 (COSE crv 1); EDHOC public keys are the 32-byte x-coordinate (RFC 9528 §3.7).
    P256,
}

impl Curve {
    /// COSE curve identifier.
    ///
    /// ```
    /// use mote_edhoc::Curve;
    /// assert_eq!((Curve::X25519.cose_id(), Curve::P256.cose_id()), (4, 1));
    /// ```
    pub fn cose_id(self) -> i64 {
        match self {
            Self::X25519 => 4,
            Self::P256 => 1,
        }
    }
    /// Length of an EDHOC-encoded public key (G_X, G_Y) and of the shared secret.
    ///
    /// ```
    /// assert_eq!(mote_edhoc::Curve::P256.public_len(), 32); // the x-coordinate only
    /// ```
    pub fn public_len(self) -> usize {
        32
    }
}

/// Signature algorithms (COSE Algorithms registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// EdDSA with Ed25519 (COSE -8).
    EdDsa,
    /// ECDSA with P-256 and SHA-256 (COSE -7).
    Es256,
}

impl SignatureAlgorithm {
    /// COSE algorithm identifier.
    ///
    /// ```
    /// use mote_edhoc::SignatureAlgorithm;
    /// assert_eq!((SignatureAlgorithm::EdDsa.cose_id(), SignatureAlgorithm::Es256.cose_id()), (-8, -7));
    /// ```
    pub fn cose_id(self) -> i64 {
        match self {
            Self::EdDsa => -8,
            Self::Es256 => -7,
        }
    }
    /// Signature length in bytes.
    ///
    /// ```
    /// assert_eq!(mote_edhoc::SignatureAlgorithm::Es256.signature_len(), 64);
    /// ```
    pub fn signature_len(self) -> usize {
        64
    }
}

/// An EDHOC cipher suite (RFC 9528 §3.6, registry §10.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CipherSuite {
    /// The suite's registry value.
    pub id: u8,
    /// EDHOC AEAD algorithm.
    pub aead: AeadAlgorithm,
    /// EDHOC hash algorithm.
    pub hash: HashAlgorithm,
    /// EDHOC MAC length in bytes (for static-DH authentication).
    pub mac_len: usize,
    /// EDHOC key exchange algorithm (ECDH curve).
    pub curve: Curve,
    /// EDHOC signature algorithm.
    pub signature: SignatureAlgorithm,
    /// Application AEAD algorithm (the OSCORE AEAD, Appendix A.1).
    pub app_aead: AeadAlgorithm,
    /// Application hash algorithm (the OSCORE HKDF hash, Appendix A.1).
    pub app_hash: HashAlgorithm,
}

impl CipherSuite {
    /// The mandatory and optional suites 0..=6, in registry order.
    pub const ALL: [CipherSuite; 7] = [
        Self::new(
            0,
            AeadAlgorithm::AesCcm16_64_128,
            8,
            Curve::X25519,
            SignatureAlgorithm::EdDsa,
            AeadAlgorithm::AesCcm16_64_128,
        ),
        Self::new(
            1,
            AeadAlgorithm::AesCcm16_128_128,
            16,
            Curve::X25519,
            SignatureAlgorithm::EdDsa,
            AeadAlgorithm::AesCcm16_64_128,
        ),
        Self::new(
            2,
            AeadAlgorithm::AesCcm16_64_128,
            8,
            Curve::P256,
            SignatureAlgorithm::Es256,
            AeadAlgorithm::AesCcm16_64_128,
        ),
        Self::new(
            3,
            AeadAlgorithm::AesCcm16_128_128,
            16,
            Curve::P256,
            SignatureAlgorithm::Es256,
            AeadAlgorithm::AesCcm16_64_128,
        ),
        Self::new(
            4,
            AeadAlgorithm::ChaCha20Poly1305,
            16,
            Curve::X25519,
            SignatureAlgorithm::EdDsa,
            AeadAlgorithm::ChaCha20Poly1305,
        ),
        Self::new(
            5,
            AeadAlgorithm::ChaCha20Poly1305,
            16,
            Curve::P256,
            SignatureAlgorithm::Es256,
            AeadAlgorithm::ChaCha20Poly1305,
        ),
        Self::new(
            6,
            AeadAlgorithm::A128Gcm,
            16,
            Curve::X25519,
            SignatureAlgorithm::Es256,
            AeadAlgorithm::A128Gcm,
        ),
    ];

    const fn new(
        id: u8,
        aead: AeadAlgorithm,
        mac_len: usize,
        curve: Curve,
        signature: SignatureAlgorithm,
        app_aead: AeadAlgorithm,
    ) -> Self {
        Self {
            id,
            aead,
            hash: HashAlgorithm::Sha256,
            mac_len,
            curve,
            signature,
            app_aead,
            app_hash: HashAlgorithm::Sha256,
        }
    }

    /// The suite with registry value `id`, if supported by this crate (0..=6).
    ///
    /// ```
    /// use mote_edhoc::{AeadAlgorithm, CipherSuite, Curve, SignatureAlgorithm};
    /// // RFC 9528 §10.2: suite 2 is AES-CCM-16-64-128, SHA-256, MAC 8, P-256, ES256.
    /// let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
    /// assert_eq!((suite.aead, suite.curve, suite.signature), (AeadAlgorithm::AesCcm16_64_128, Curve::P256, SignatureAlgorithm::Es256));
    /// assert_eq!((suite.mac_len, suite.hash_len()), (8, 32));
    /// assert_eq!(CipherSuite::from_id(0).ok_or("suite 0")?.curve, Curve::X25519);
    /// assert!(CipherSuite::from_id(24).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_id(id: i64) -> Option<Self> {
        usize::try_from(id)
            .ok()
            .and_then(|i| Self::ALL.get(i))
            .copied()
    }

    /// Hash output length.
    ///
    /// ```
    /// assert_eq!(mote_edhoc::CipherSuite::from_id(0).map(|s| s.hash_len()), Some(32));
    /// ```
    pub fn hash_len(&self) -> usize {
        self.hash.output_len()
    }
}

/// Maximum number of suites in SUITES_I / SUITES_R this crate accepts.
pub const MAX_SUITES: usize = 9;

/// A list of cipher-suite values in order of preference (SUITES_I or SUITES_R, RFC 9528 §5.2.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Suites {
    values: [i32; MAX_SUITES],
    len: usize,
}

impl Suites {
    /// An empty list.
    ///
    /// ```
    /// # use mote_edhoc::Suites;
    /// assert!(Suites::new().is_empty());
    /// ```
    pub const fn new() -> Self {
        Self {
            values: [0; MAX_SUITES],
            len: 0,
        }
    }

    /// A list of the given values.
    ///
    /// ```
    /// use mote_edhoc::{Bytes, Suites};
    /// let suites = Suites::from_values(&[6, 2])?;
    /// assert_eq!((suites.len(), suites.last(), suites.contains(2)), (2, Some(2), true));
    /// let mut out = Bytes::<8>::new();
    /// suites.encode(&mut out)?;
    /// assert_eq!(out.as_slice(), [0x82, 0x06, 0x02]); // an array; a single suite is just the int
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_values(values: &[i32]) -> Result<Self, Error> {
        let mut s = Self::new();
        for v in values {
            s.push(*v)?;
        }
        Ok(s)
    }

    /// Appends a value.
    ///
    /// ```
    /// use mote_edhoc::Suites;
    /// let mut suites = Suites::new();
    /// suites.push(2)?;
    /// assert_eq!(suites.as_slice(), [2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push(&mut self, v: i32) -> Result<(), Error> {
        let slot = self.values.get_mut(self.len).ok_or(Error::Capacity {
            what: diag!("suites"),
            needed: self.len + 1,
        })?;
        *slot = v;
        self.len += 1;
        Ok(())
    }

    /// The values in order.
    ///
    /// ```
    /// # use mote_edhoc::Suites;
    /// assert_eq!(Suites::from_values(&[6, 2])?.as_slice(), [6, 2]);
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn as_slice(&self) -> &[i32] {
        self.values.get(..self.len.min(MAX_SUITES)).unwrap_or(&[])
    }

    /// Number of values.
    ///
    /// ```
    /// # use mote_edhoc::Suites;
    /// assert_eq!(Suites::from_values(&[6, 2])?.len(), 2);
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    ///
    /// ```
    /// # use mote_edhoc::Suites;
    /// assert!(!Suites::from_values(&[2])?.is_empty());
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `v` is in the list.
    ///
    /// ```
    /// # use mote_edhoc::Suites;
    /// assert!(Suites::from_values(&[6, 2])?.contains(6));
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn contains(&self, v: i32) -> bool {
        self.as_slice().contains(&v)
    }

    /// The last value: for SUITES_I, the selected cipher suite.
    ///
    /// ```
    /// # use mote_edhoc::Suites;
    /// assert_eq!(Suites::from_values(&[6, 2])?.last(), Some(2)); // the selected suite in SUITES_I
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn last(&self) -> Option<i32> {
        self.as_slice().last().copied()
    }

    /// Encodes as a single int when there is one value, else as an array (RFC 9528 §5.2.2).
    ///
    /// ```
    /// # use mote_edhoc::Suites;
    /// # use mote_edhoc::Bytes;
    /// let mut out = Bytes::<4>::new();
    /// Suites::from_values(&[2])?.encode(&mut out)?;
    /// assert_eq!(out.as_slice(), [0x02]); // one suite: the int itself (RFC 9528 §5.2.2)
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn encode<const N: usize>(&self, out: &mut Bytes<N>) -> Result<(), Error> {
        self.encode_to(out)
    }

    fn encode_to(&self, out: &mut dyn Sink) -> Result<(), Error> {
        match self.as_slice() {
            [] => Err(Error::Malformed {
                offset: 0,
                reason: diag!("empty cipher suite list"),
            }),
            [one] => cbor::int(out, i64::from(*one)),
            many => {
                cbor::head(out, cbor::Major::Array, many.len() as u64)?;
                many.iter().try_for_each(|v| cbor::int(out, i64::from(*v)))
            }
        }
    }

    /// Reads SUITES_I or SUITES_R: an int, or an array of at least two ints.
    pub(crate) fn decode(r: &mut cbor::Decoder<'_>) -> Result<Self, Error> {
        let mut s = Self::new();
        let n = match r.next_major() {
            Some(cbor::Major::Array) => {
                let n = r.array()?;
                // RFC 9528 §5.2.2: a single suite is encoded as an int, not an array.
                if n < 2 {
                    return Err(cbor::malformed(
                        r,
                        diag!("cipher suite list of fewer than two as array"),
                    ));
                }
                n
            }
            _ => 1,
        };
        for _ in 0..n {
            s.push(suite_value(r)?)?;
        }
        Ok(s)
    }
}

fn suite_value(r: &mut cbor::Decoder<'_>) -> Result<i32, Error> {
    let v = r.i64()?;
    i32::try_from(v).map_err(|_| cbor::malformed(r, diag!("cipher suite value out of range")))
}

impl Default for Suites {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Suites {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_built_follow_the_signatures_feature() {
        assert!(Method::StaticStatic.is_supported());
        for m in [Method::SignSign, Method::SignStatic, Method::StaticSign] {
            assert_eq!(m.is_supported(), cfg!(feature = "signatures"));
        }
    }
}

/// What every cipher-suite parameter of this crate takes: the suite's registry value
/// (RFC 9528 §10.2, as any integer type) or a [`CipherSuite`], so suites go in the same way
/// everywhere.
///
/// ```
/// use mote_edhoc::*;
/// let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
/// assert_eq!(suite.suite_value(), 2);
/// assert_eq!(2u8.suite_value(), 2);
/// # let mut crypto = MoteCrypto::new();
/// # let (key, _) = crypto.generate_ecdh_key(suite.curve)?;
/// # let id = || -> Result<Identity, Error> {
/// #     Identity::by_reference(Credential::ccs_for_private_key(&mut MoteCrypto::new(), &suite, true, "d", b"D", &key)?, &key)
/// # };
/// // The configuration takes either.
/// let by_number = InitiatorConfig::new(Method::StaticStatic, 2, id()?);
/// let by_suite = InitiatorConfig::new(Method::StaticStatic, &suite, id()?);
/// assert_eq!(by_number.suites.as_slice(), by_suite.suites.as_slice());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait SuiteInput {
    /// The suite's registry value.
    fn suite_value(&self) -> i64;
}

macro_rules! suite_input_int {
    ($($t:ty),*) => {$(
        impl SuiteInput for $t {
            fn suite_value(&self) -> i64 {
                i64::from(*self)
            }
        }
    )*};
}
suite_input_int!(u8, i8, u16, i16, i32, i64);

impl SuiteInput for CipherSuite {
    fn suite_value(&self) -> i64 {
        i64::from(self.id)
    }
}

impl<T: SuiteInput + ?Sized> SuiteInput for &T {
    fn suite_value(&self) -> i64 {
        (**self).suite_value()
    }
}

impl CipherSuite {
    /// The suite named by `suite`, or [`Error::NoCommonSuite`] when this crate does not
    /// support it.
    ///
    /// ```
    /// use mote_edhoc::{CipherSuite, Error};
    /// assert_eq!(CipherSuite::from_input(2u8)?.id, 2);
    /// assert_eq!(CipherSuite::from_input(24), Err(Error::NoCommonSuite));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_input(suite: impl SuiteInput) -> Result<Self, Error> {
        Self::from_id(suite.suite_value()).ok_or(Error::NoCommonSuite)
    }
}
