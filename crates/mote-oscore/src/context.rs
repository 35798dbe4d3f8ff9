//! The security context (RFC 8613 §3): Common, Sender and Recipient Context, and their
//! derivation (§3.2).

use mote_cose::algorithm::{AeadAlgorithm, HkdfAlgorithm};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;
use crate::cose::{InfoParts, InfoType, MAX_NONCE_LEN, NonceBase};
use crate::replay::{DEFAULT_REPLAY_WINDOW, MAX_SEQUENCE_NUMBER, ReplayWindow};
use crate::sequence::{SequenceStore, Volatile};

/// Longest Sender/Recipient ID: nonce length − 6 (RFC 8613 §3.3), 7 bytes for the 13-byte
/// nonces of AES-CCM-16-*.
pub const MAX_ID_LEN: usize = MAX_NONCE_LEN - 6;
/// Longest ID Context this crate stores. RFC 8613 leaves the length to the application; the
/// 'kid context' field can carry up to 255 bytes (§6.1) and Appendix B.2 concatenates two
/// nonces of typically 8 bytes.
pub const MAX_ID_CONTEXT_LEN: usize = 64;
/// Longest Master Secret and Master Salt kept for re-derivation (Appendix B.2).
pub const MAX_MASTER_LEN: usize = 64;
const MAX_KEY_LEN: usize = 32;

/// A short byte string of at most `N` bytes, stored inline (no allocation).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShortBytes<const N: usize> {
    bytes: [u8; N],
    len: u8,
}

impl<const N: usize> ShortBytes<N> {
    /// Copies `value`; fails if it is longer than `N`.
    ///
    /// ```
    /// use mote_oscore::context::Id;
    /// let id = Id::new(&[0x01])?;
    /// assert_eq!(id.as_slice(), [0x01]);
    /// assert!(Id::new(&[0u8; 8]).is_err()); // longer than MAX_ID_LEN
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn new(value: &[u8]) -> Result<Self, Error> {
        let mut bytes = [0u8; N];
        bytes
            .get_mut(..value.len())
            .ok_or(Error::InvalidParameter(crate::error::reason(
                "value too long",
            )))?
            .copy_from_slice(value);
        Ok(Self {
            bytes,
            len: u8::try_from(value.len())
                .map_err(|_| Error::InvalidParameter(crate::error::reason("value too long")))?,
        })
    }

    /// The bytes.
    ///
    /// ```
    /// use mote_oscore::context::IdContext;
    /// assert_eq!(IdContext::new(&[0x37, 0xcb])?.as_slice(), [0x37, 0xcb]);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The first `len` bytes of `bytes` (all of them if `len` is larger).
    pub(crate) fn from_array(bytes: [u8; N], len: usize) -> Self {
        Self {
            bytes,
            len: len.min(N) as u8,
        }
    }
}

impl<const N: usize> core::fmt::Debug for ShortBytes<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "h'")?;
        for b in self.as_slice() {
            write!(f, "{b:02x}")?;
        }
        write!(f, "'")
    }
}

/// A secret byte string (key, Master Secret, Master Salt): zeroized on drop, compared in
/// constant time, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Secret<N> {
    fn new(value: &[u8]) -> Result<Self, Error> {
        let mut bytes = [0u8; N];
        bytes
            .get_mut(..value.len())
            .ok_or(Error::InvalidParameter(crate::error::reason(
                "secret too long",
            )))?
            .copy_from_slice(value);
        Ok(Self {
            bytes,
            len: value.len(),
        })
    }

    /// The secret bytes. Handle with care.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt; // RFC 8613 C.1.1
    /// let keys = mote_oscore::context::derive_keys(&p)?;
    /// assert_eq!(keys.common_iv.as_slice().len(), 13);
    /// assert_eq!(keys.sender_key.expose().len(), 16); // AES-CCM-16-64-128
    /// assert_eq!(format!("{:?}", keys.sender_key), "Secret(16 bytes)"); // never printed
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn expose(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl<const N: usize> PartialEq for Secret<N> {
    fn eq(&self, other: &Self) -> bool {
        self.expose().ct_eq(other.expose()).into()
    }
}

impl<const N: usize> Eq for Secret<N> {}

impl<const N: usize> core::fmt::Debug for Secret<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Secret({} bytes)", self.len)
    }
}

/// A Sender or Recipient ID (RFC 8613 §3.1), at most [`MAX_ID_LEN`] bytes.
pub type Id = ShortBytes<MAX_ID_LEN>;
/// An ID Context (RFC 8613 §3.1), at most [`MAX_ID_CONTEXT_LEN`] bytes.
pub type IdContext = ShortBytes<MAX_ID_CONTEXT_LEN>;
/// A Sender or Recipient Key.
pub type Key = Secret<MAX_KEY_LEN>;

/// The HKDF algorithm named the way a peer names it (RFC 8613 §3.1: "HKDF SHA-256" is the
/// default; the registry of §3.2 says the KDF is identified by a COSE HKDF or HMAC algorithm).
///
/// | value | meaning |
/// |---|---|
/// | −10 | direct+HKDF-SHA-256 (COSE, RFC 9053 §6.1.2) |
/// | −11 | direct+HKDF-SHA-512 |
/// | 5 | HMAC 256/256 (the HMAC underlying HKDF SHA-256, as aiocoap and libcoap name it) |
/// | 7 | HMAC 512/512 |
///
/// ```
/// use mote_oscore::{HkdfAlgorithm, context::hkdf_from_cose_id};
/// assert_eq!(hkdf_from_cose_id(-10)?, HkdfAlgorithm::Sha256);
/// assert_eq!(hkdf_from_cose_id(5)?, HkdfAlgorithm::Sha256); // aiocoap's and libcoap's name
/// assert_eq!(hkdf_from_cose_id(-11)?, HkdfAlgorithm::Sha512);
/// assert!(hkdf_from_cose_id(1).is_err());
/// # Ok::<(), mote_oscore::Error>(())
/// ```
pub fn hkdf_from_cose_id(id: i64) -> Result<HkdfAlgorithm, Error> {
    match id {
        -10 | 5 => Ok(HkdfAlgorithm::Sha256),
        -11 | 7 => Ok(HkdfAlgorithm::Sha512),
        other => Err(Error::UnsupportedAlgorithm(other)),
    }
}

/// The HKDF algorithm from a name: `SHA-256`, `HKDF-SHA-256`, `SHA-512`, `HKDF-SHA-512`
/// (case-insensitive), or a COSE identifier as text (see [`hkdf_from_cose_id`]).
///
/// ```
/// use mote_oscore::{HkdfAlgorithm, context::hkdf_from_name};
/// assert_eq!(hkdf_from_name("HKDF SHA-256")?, HkdfAlgorithm::Sha256);
/// assert_eq!(hkdf_from_name("sha-512")?, HkdfAlgorithm::Sha512);
/// assert_eq!(hkdf_from_name("-10")?, HkdfAlgorithm::Sha256);
/// assert!(hkdf_from_name("MD5").is_err());
/// # Ok::<(), mote_oscore::Error>(())
/// ```
pub fn hkdf_from_name(name: &str) -> Result<HkdfAlgorithm, Error> {
    let n = name.trim();
    let eq = |s: &str| n.eq_ignore_ascii_case(s);
    if eq("SHA-256") || eq("HKDF-SHA-256") || eq("HKDF SHA-256") || eq("SHA256") {
        return Ok(HkdfAlgorithm::Sha256);
    }
    if eq("SHA-512") || eq("HKDF-SHA-512") || eq("HKDF SHA-512") || eq("SHA512") {
        return Ok(HkdfAlgorithm::Sha512);
    }
    n.parse::<i64>()
        .map_err(|_| Error::InvalidParameter(crate::error::reason("unknown HKDF algorithm name")))
        .and_then(hkdf_from_cose_id)
}

/// The AEAD algorithm with COSE identifier `id`, if OSCORE can use it (nonce of at least
/// 7 bytes, RFC 8613 §5.2) and this build has it. All AEADs of `mote-cose` qualify: 1, 2, 3,
/// 10–13, 24, 30–33; without `std`, AES-GCM (1–3) and ChaCha20/Poly1305 (24) only when
/// mote-cose's features `aes-gcm` and `chacha20` are on ([`AeadAlgorithm::is_available`]).
///
/// ```
/// use mote_oscore::{AeadAlgorithm, context::aead_from_cose_id};
/// assert_eq!(aead_from_cose_id(10)?, AeadAlgorithm::AesCcm16_64_128); // the OSCORE default
/// assert_eq!(aead_from_cose_id(1)?, AeadAlgorithm::A128Gcm);
/// assert!(aead_from_cose_id(-7).is_err()); // ES256 is no AEAD
/// # Ok::<(), mote_oscore::Error>(())
/// ```
pub fn aead_from_cose_id(id: i64) -> Result<AeadAlgorithm, Error> {
    AeadAlgorithm::from_id(id)
        .filter(|a| a.is_available() && a.nonce_len() >= 7 && a.nonce_len() <= MAX_NONCE_LEN)
        .ok_or(Error::UnsupportedAlgorithm(id))
}

/// The input parameters of a security context (RFC 8613 §3.2).
#[derive(Clone, Copy)]
pub struct SecurityContextParams<'a> {
    /// Master Secret (RFC 8613 §3.2.1, at most [`MAX_MASTER_LEN`] bytes).
    pub master_secret: &'a [u8],
    /// Master Salt; empty when absent (the default, §3.2).
    pub master_salt: &'a [u8],
    /// Sender ID.
    pub sender_id: &'a [u8],
    /// Recipient ID.
    pub recipient_id: &'a [u8],
    /// ID Context, `None` when absent (`nil` in `info`, §3.2.1).
    pub id_context: Option<&'a [u8]>,
    /// AEAD Algorithm (default AES-CCM-16-64-128, §3.2).
    pub aead: AeadAlgorithm,
    /// HKDF Algorithm (default HKDF SHA-256, §3.2).
    pub hkdf: HkdfAlgorithm,
    /// Replay window size (default 32, §3.2.2).
    pub replay_window: u8,
    /// Whether requests carry the ID Context as 'kid context' (§5.1).
    pub send_kid_context: bool,
}

impl core::fmt::Debug for SecurityContextParams<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SecurityContextParams")
            .field("sender_id", &self.sender_id)
            .field("recipient_id", &self.recipient_id)
            .field("id_context", &self.id_context)
            .field("aead", &self.aead)
            .field("hkdf", &self.hkdf)
            .finish_non_exhaustive()
    }
}

impl<'a> SecurityContextParams<'a> {
    /// Parameters with the defaults of RFC 8613 §3.2 for everything but the secret and IDs.
    ///
    /// ```
    /// use mote_oscore::{AeadAlgorithm, HkdfAlgorithm, SecurityContextParams};
    /// let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// let p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// assert_eq!((p.aead, p.hkdf), (AeadAlgorithm::AesCcm16_64_128, HkdfAlgorithm::Sha256));
    /// assert_eq!((p.master_salt, p.id_context, p.replay_window), (&[][..], None, 32));
    /// ```
    pub fn new(master_secret: &'a [u8], sender_id: &'a [u8], recipient_id: &'a [u8]) -> Self {
        Self {
            master_secret,
            master_salt: &[],
            sender_id,
            recipient_id,
            id_context: None,
            aead: AeadAlgorithm::AesCcm16_64_128,
            hkdf: HkdfAlgorithm::Sha256,
            replay_window: DEFAULT_REPLAY_WINDOW,
            send_kid_context: true,
        }
    }
}

/// The derived keys and IV, as RFC 8613 Appendix C prints them.
#[derive(Clone)]
pub struct DerivedKeys {
    /// Sender Key.
    pub sender_key: Key,
    /// Recipient Key.
    pub recipient_key: Key,
    /// Common IV (nonce length bytes).
    pub common_iv: ShortBytes<MAX_NONCE_LEN>,
}

impl core::fmt::Debug for DerivedKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DerivedKeys").finish_non_exhaustive()
    }
}

/// The HKDF as this build runs it: without the `hkdf-sha512` feature always HKDF-SHA-256,
/// a constant at every call, so that SHA-512 is not linked (`derive_keys` refuses other
/// algorithms first).
#[inline(always)]
fn hkdf_of_build(hkdf: HkdfAlgorithm) -> HkdfAlgorithm {
    #[cfg(not(feature = "hkdf-sha512"))]
    let hkdf = {
        let _ = hkdf;
        HkdfAlgorithm::Sha256
    };
    hkdf
}

/// Derives Sender Key, Recipient Key and Common IV (RFC 8613 §3.2.1):
/// `output = HKDF(salt = Master Salt, IKM = Master Secret, info, L)` with
/// `info = [id, id_context, alg_aead, type, L]`.
///
/// ```
/// # use mote_oscore::{SecurityContext, SecurityContextParams};
/// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
/// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
/// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
/// # p.master_salt = &salt; // RFC 8613 C.1.1
/// let keys = mote_oscore::context::derive_keys(&p)?;
/// // RFC 8613 C.1.1 outputs.
/// assert_eq!(keys.sender_key.expose(), b"\xf0\x91\x0e\xd7\x29\x5e\x6a\xd4\xb5\x4f\xc7\x93\x15\x43\x02\xff");
/// assert_eq!(keys.recipient_key.expose(), b"\xff\xb1\x4e\x09\x3c\x94\xc9\xca\xc9\x47\x16\x48\xb4\xf9\x87\x10");
/// assert_eq!(keys.common_iv.as_slice(), b"\x46\x22\xd4\xdd\x6d\x94\x41\x68\xee\xfb\x54\x98\x7c");
/// # Ok::<(), mote_oscore::Error>(())
/// ```
pub fn derive_keys(p: &SecurityContextParams<'_>) -> Result<DerivedKeys, Error> {
    // An AEAD this build leaves out (mote-cose's `aes-gcm`, `chacha20`) is refused here, not
    // at the first message.
    if !p.aead.is_available() {
        return Err(Error::UnsupportedAlgorithm(p.aead.id()));
    }
    let id_max = p.aead.nonce_len() - 6;
    if p.sender_id.len() > id_max || p.recipient_id.len() > id_max {
        return Err(Error::InvalidParameter(crate::error::reason(
            "ID longer than nonce length minus 6 (RFC 8613 §3.3)",
        )));
    }
    if p.id_context.is_some_and(|c| c.len() > MAX_ID_CONTEXT_LEN) {
        return Err(Error::InvalidParameter(crate::error::reason(
            "ID Context too long",
        )));
    }
    // Without the `hkdf-sha512` feature the algorithm is a constant, so that SHA-512 is not
    // linked; a context asking for HKDF-SHA-512 is refused.
    #[cfg(feature = "hkdf-sha512")]
    let hkdf = p.hkdf;
    #[cfg(not(feature = "hkdf-sha512"))]
    let hkdf = if p.hkdf == HkdfAlgorithm::Sha256 {
        HkdfAlgorithm::Sha256
    } else {
        return Err(Error::InvalidParameter(crate::error::reason(
            "HKDF-SHA-512 needs the hkdf-sha512 feature",
        )));
    };
    let mut prk = Secret::<64>::new(&[0u8; 64])?;
    let hash_len = hkdf.hash_len();
    let prk_bytes = prk
        .bytes
        .get_mut(..hash_len)
        .ok_or(Error::InvalidParameter(crate::error::reason("hash")))?;
    hkdf.extract(p.master_salt, p.master_secret, prk_bytes)
        .map_err(|_| Error::InvalidParameter(crate::error::reason("HKDF extract")))?;
    prk.len = hash_len;
    let expand = |id: &[u8], kind: InfoType, l: usize, out: &mut [u8]| -> Result<(), Error> {
        let info = InfoParts::new(id, p.id_context, p.aead, kind, l);
        hkdf_of_build(hkdf)
            .expand_parts(prk.expose(), &info.parts(), out)
            .map_err(|_| Error::InvalidParameter(crate::error::reason("HKDF expand")))
    };
    let key_len = p.aead.key_len();
    let mut sender_key = Key::new(&[0u8; MAX_KEY_LEN])?;
    sender_key.len = key_len;
    expand(
        p.sender_id,
        InfoType::Key,
        key_len,
        sender_key.bytes.get_mut(..key_len).unwrap_or_default(),
    )?;
    let mut recipient_key = Key::new(&[0u8; MAX_KEY_LEN])?;
    recipient_key.len = key_len;
    expand(
        p.recipient_id,
        InfoType::Key,
        key_len,
        recipient_key.bytes.get_mut(..key_len).unwrap_or_default(),
    )?;
    let n = p.aead.nonce_len();
    let mut iv = [0u8; MAX_NONCE_LEN];
    expand(&[], InfoType::Iv, n, iv.get_mut(..n).unwrap_or_default())?;
    Ok(DerivedKeys {
        sender_key,
        recipient_key,
        common_iv: ShortBytes::new(iv.get(..n).unwrap_or_default())?,
    })
}

/// The `info` structure of RFC 8613 §3.2.1 for one derivation, written into `out`
/// (for display and tests; derivation itself streams the parts).
///
/// ```
/// use mote_oscore::{AeadAlgorithm, context::info, cose::InfoType};
/// // RFC 8613 C.1.1: info for the client's Sender Key: [h'', null, 10, "Key", 16].
/// let mut out = [0u8; 32];
/// let n = info(&[], None, AeadAlgorithm::AesCcm16_64_128, InfoType::Key, &mut out)?;
/// assert_eq!(&out[..n], b"\x85\x40\xf6\x0a\x63Key\x10");
/// # Ok::<(), mote_oscore::Error>(())
/// ```
pub fn info(
    id: &[u8],
    id_context: Option<&[u8]>,
    aead: AeadAlgorithm,
    kind: InfoType,
    out: &mut [u8],
) -> Result<usize, Error> {
    let l = match kind {
        InfoType::Key => aead.key_len(),
        InfoType::Iv => aead.nonce_len(),
    };
    InfoParts::new(id, id_context, aead, kind, l).write(out)
}

/// A Sender or Recipient Key for one message: the AEAD and the raw key bytes. Sealing and
/// opening through [`AeadAlgorithm`] expand the key schedule per call (for AES-CCM the
/// encrypt-only AES key schedule: tens of nanoseconds with AES-NI), so the context keeps no
/// schedule (see [`SecurityContext`]).
#[derive(Clone, Copy)]
pub(crate) struct MessageKey<'a> {
    aead: AeadAlgorithm,
    key: &'a [u8],
}

impl MessageKey<'_> {
    /// The algorithm.
    pub(crate) fn algorithm(&self) -> AeadAlgorithm {
        self.aead
    }

    /// [`AeadAlgorithm::seal_in_place`] with this key.
    #[inline]
    pub(crate) fn seal_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        plaintext_len: usize,
    ) -> Result<usize, mote_cose::Error> {
        self.aead
            .seal_in_place(self.key, nonce, aad, buffer, plaintext_len)
    }

    /// [`AeadAlgorithm::open_in_place`] with this key.
    #[inline]
    pub(crate) fn open_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
    ) -> Result<usize, mote_cose::Error> {
        self.aead.open_in_place(self.key, nonce, aad, buffer)
    }
}

/// The Sender Context (RFC 8613 §3.1): Sender ID, Sender Key, Sender Sequence Number, and
/// the persistence state of Appendix B.1.1.
#[derive(Debug)]
pub struct SenderContext<S> {
    pub(crate) id: Id,
    pub(crate) key: Key,
    pub(crate) seq: u64,
    pub(crate) store: S,
    /// Appendix B.1.1: the store is written when `seq` reaches this value.
    pub(crate) next_store_at: u64,
    pub(crate) k: u64,
}

/// The Recipient Context (RFC 8613 §3.1): Recipient ID, Recipient Key and Replay Window,
/// plus the Echo value issued to re-establish the window (Appendix B.1.2).
#[derive(Debug)]
pub struct RecipientContext {
    pub(crate) id: Id,
    pub(crate) key: Key,
    pub(crate) window: ReplayWindow,
    pub(crate) echo_challenge: Option<ShortBytes<40>>,
}

/// A complete OSCORE security context (RFC 8613 §3.1).
///
/// `S` persists the Sender Sequence Number ([`SequenceStore`], Appendix B.1.1);
/// the default [`Volatile`] keeps it in memory only.
///
/// Only the raw Sender and Recipient Keys are kept (16 or 32 bytes each, zeroized on drop);
/// each protected or verified message expands the AEAD key schedule on the stack (for AES-CCM
/// the encrypt-only AES key schedule). A server holding one context per client keeps about
/// 0.6 KB per context instead of about 2.5 KB with two prepared `AeadKey`s (976 bytes each);
/// the expansion costs tens of nanoseconds per message with AES-NI (docs/performance.md).
///
/// Call order: derive with [`new`](Self::new) (or [`restore`](Self::restore) after a reboot),
/// then `protect_request` / `unprotect_response` as a client and `unprotect_request` /
/// `protect_response` as a server (module [`crate::protect`]).
#[derive(Debug)]
pub struct SecurityContext<S = Volatile> {
    pub(crate) aead: AeadAlgorithm,
    pub(crate) hkdf: HkdfAlgorithm,
    pub(crate) common_iv: ShortBytes<MAX_NONCE_LEN>,
    /// Common IV XOR the Sender ID part of the nonce (RFC 8613 §5.2): nonces with our Partial IVs.
    pub(crate) sender_nonce: NonceBase,
    /// The same for the Recipient ID: nonces with the peer's Partial IVs.
    pub(crate) recipient_nonce: NonceBase,
    pub(crate) id_context: Option<IdContext>,
    pub(crate) send_kid_context: bool,
    pub(crate) master_secret: Secret<MAX_MASTER_LEN>,
    pub(crate) master_salt: Secret<MAX_MASTER_LEN>,
    pub(crate) sender: SenderContext<S>,
    pub(crate) recipient: RecipientContext,
    pub(crate) pending_echo_binding: Option<crate::protect::RequestBinding>,
}

impl SecurityContext<Volatile> {
    /// Derives a fresh context (RFC 8613 §3.2) whose sequence number starts at 0 and lives in
    /// memory only.
    ///
    /// # Example
    /// RFC 8613 Appendix C.1.1: the client's context from Master Secret and Master Salt.
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// p.master_salt = &salt;
    /// let client = SecurityContext::new(&p)?;
    /// assert_eq!(client.sender_key().expose(), b"\xf0\x91\x0e\xd7\x29\x5e\x6a\xd4\xb5\x4f\xc7\x93\x15\x43\x02\xff");
    /// assert_eq!(client.sender_sequence_number(), 0);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn new(p: &SecurityContextParams<'_>) -> Result<Self, Error> {
        Self::with_store(p, Volatile)
    }
}

impl<S: SequenceStore> SecurityContext<S> {
    /// Derives a fresh context whose Sender Sequence Number starts at 0 and is persisted in
    /// `store` every `K = 1` message (see [`restore`](Self::restore) for the B.1.1 procedure).
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt; // RFC 8613 C.1.1
    /// use mote_oscore::sequence::MemoryStore;
    /// let mut store = MemoryStore::default();
    /// let mut client = SecurityContext::with_store(&p, &mut store)?;
    /// let mut out = [0u8; 64];
    /// client.protect_request(mote_oscore::Framing::Udp, b"\x44\x01\x5d\x1f\x00\x00\x39\x74\x83tv1", &mut out)?;
    /// drop(client);
    /// // The number was stored before it was used (Appendix B.1.1, K = 1).
    /// assert_eq!((store.value, store.writes), (Some(0), 1));
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn with_store(p: &SecurityContextParams<'_>, store: S) -> Result<Self, Error> {
        let keys = derive_keys(p)?;
        Ok(Self {
            aead: p.aead,
            hkdf: p.hkdf,
            common_iv: keys.common_iv,
            sender_nonce: NonceBase::new(keys.common_iv.as_slice(), p.sender_id)?,
            recipient_nonce: NonceBase::new(keys.common_iv.as_slice(), p.recipient_id)?,
            id_context: p.id_context.map(IdContext::new).transpose()?,
            send_kid_context: p.send_kid_context,
            master_secret: Secret::new(p.master_secret)?,
            master_salt: Secret::new(p.master_salt)?,
            sender: SenderContext {
                id: Id::new(p.sender_id)?,
                key: keys.sender_key.clone(),
                seq: 0,
                store,
                next_store_at: 0,
                k: 1,
            },
            recipient: RecipientContext {
                id: Id::new(p.recipient_id)?,
                key: keys.recipient_key.clone(),
                window: ReplayWindow::new(p.replay_window)?,
                echo_challenge: None,
            },
            pending_echo_binding: None,
        })
    }

    /// Re-creates a context after a reboot with the procedure of RFC 8613 Appendix B.1.1:
    /// the sequence number is written to `store` every `k` numbers, before the first of them
    /// is used; at boot, the stored value `s` is read and sending resumes at `s + f`, which
    /// is safe because no number at or above `s + k` was used (`f ≥ k`). Without a stored
    /// value the context starts at 0.
    ///
    /// The replay window is lost: it starts uninitialized and is re-established with the
    /// Echo exchange of Appendix B.1.2 (see [`issue_replay_echo`](Self::issue_replay_echo)).
    /// Pass `window_from_echo = false` for a context whose window is known fresh (e.g. the
    /// peer derived a new context too).
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt; // RFC 8613 C.1.1
    /// use mote_oscore::sequence::MemoryStore;
    /// // Before the reboot the store held 1000; with K = 16 and F = 32 sending resumes at 1032,
    /// // and the replay window waits for the Echo exchange of Appendix B.1.2.
    /// let store = MemoryStore { value: Some(1000), ..MemoryStore::default() };
    /// let client = SecurityContext::restore(&p, store, 16, 32, true)?;
    /// assert_eq!(client.sender_sequence_number(), 1032);
    /// assert!(!client.replay_window().is_initialized());
    /// assert!(SecurityContext::restore(&p, MemoryStore::default(), 16, 8, true).is_err()); // F < K
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn restore(
        p: &SecurityContextParams<'_>,
        mut store: S,
        k: u64,
        f: u64,
        window_from_echo: bool,
    ) -> Result<Self, Error> {
        if k == 0 || f < k {
            return Err(Error::InvalidParameter(crate::error::reason(
                "B.1.1 requires K > 0 and F >= K",
            )));
        }
        let start = match store.load()? {
            None => 0,
            Some(s) => s.checked_add(f).ok_or(Error::SequenceNumberExhausted)?,
        };
        if start > MAX_SEQUENCE_NUMBER {
            return Err(Error::SequenceNumberExhausted);
        }
        let mut ctx = Self::with_store(p, store)?;
        ctx.sender.seq = start;
        ctx.sender.next_store_at = start;
        ctx.sender.k = k;
        if window_from_echo {
            ctx.recipient.window = ReplayWindow::uninitialized(p.replay_window)?;
        }
        Ok(ctx)
    }

    /// The AEAD Algorithm.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// assert_eq!(client.aead(), mote_oscore::AeadAlgorithm::AesCcm16_64_128); // the default, 10
    /// assert_eq!(client.aead().id(), 10);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn aead(&self) -> AeadAlgorithm {
        self.aead
    }

    /// The HKDF Algorithm.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// assert_eq!(client.hkdf(), mote_oscore::HkdfAlgorithm::Sha256); // the default
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn hkdf(&self) -> HkdfAlgorithm {
        self.hkdf
    }

    /// The Common IV.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// assert_eq!(client.common_iv(), b"\x46\x22\xd4\xdd\x6d\x94\x41\x68\xee\xfb\x54\x98\x7c"); // C.1.1
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn common_iv(&self) -> &[u8] {
        self.common_iv.as_slice()
    }

    /// The ID Context, if any.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// assert_eq!(client.id_context(), None); // C.1.1 has none; C.2.1 has 0x37cbf3210017a2d3
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn id_context(&self) -> Option<&[u8]> {
        self.id_context.as_ref().map(ShortBytes::as_slice)
    }

    /// The Sender ID.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// assert_eq!(client.sender_id(), b""); // C.1.1: the client's Sender ID is empty
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn sender_id(&self) -> &[u8] {
        self.sender.id.as_slice()
    }

    /// The Recipient ID.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// assert_eq!(client.recipient_id(), [0x01]);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn recipient_id(&self) -> &[u8] {
        self.recipient.id.as_slice()
    }

    /// The Sender Key.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// assert_eq!(client.sender_key().expose(), b"\xf0\x91\x0e\xd7\x29\x5e\x6a\xd4\xb5\x4f\xc7\x93\x15\x43\x02\xff");
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn sender_key(&self) -> &Key {
        &self.sender.key
    }

    /// The Recipient Key.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// assert_eq!(client.recipient_key().expose(), b"\xff\xb1\x4e\x09\x3c\x94\xc9\xca\xc9\x47\x16\x48\xb4\xf9\x87\x10");
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn recipient_key(&self) -> &Key {
        &self.recipient.key
    }

    /// The next Sender Sequence Number.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// assert_eq!(client.sender_sequence_number(), 0);
    /// let mut out = [0u8; 64];
    /// client.protect_request(mote_oscore::Framing::Udp, b"\x44\x01\x5d\x1f\x00\x00\x39\x74\x83tv1", &mut out)?;
    /// assert_eq!(client.sender_sequence_number(), 1); // each protected message takes one
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn sender_sequence_number(&self) -> u64 {
        self.sender.seq
    }

    /// Sets the next Sender Sequence Number; it can only move forward (RFC 8613 §7.2: a
    /// number must never be reused).
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// client.set_sender_sequence_number(20)?; // RFC 8613 C.4 protects at 20
    /// assert_eq!(client.sender_sequence_number(), 20);
    /// assert!(client.set_sender_sequence_number(19).is_err()); // never backwards
    /// assert!(client.set_sender_sequence_number(client.max_sequence_number() + 1).is_err());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn set_sender_sequence_number(&mut self, seq: u64) -> Result<(), Error> {
        if seq < self.sender.seq {
            return Err(Error::InvalidParameter(crate::error::reason(
                "sequence number can only increase",
            )));
        }
        if seq > MAX_SEQUENCE_NUMBER {
            return Err(Error::SequenceNumberExhausted);
        }
        self.sender.seq = seq;
        Ok(())
    }

    /// The Replay Window.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// assert_eq!(client.replay_window().size(), 32); // the default window (RFC 8613 §7.4)
    /// assert!(client.replay_window().is_initialized());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn replay_window(&self) -> &ReplayWindow {
        &self.recipient.window
    }

    /// Replaces the Replay Window (e.g. one restored from storage).
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// // A window restored as it was before a reboot: 5 seen, the numbers above it fresh.
    /// let mut window = mote_oscore::ReplayWindow::new(32)?;
    /// window.check_and_accept(5)?;
    /// client.set_replay_window(window);
    /// assert!(client.replay_window().check(5).is_err());
    /// assert!(client.replay_window().check(6).is_ok());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn set_replay_window(&mut self, window: ReplayWindow) {
        self.recipient.window = window;
    }

    /// The sequence-number store.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// // The default store keeps the sequence number in memory only.
    /// let _volatile: &mote_oscore::sequence::Volatile = client.store();
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn store(&self) -> &S {
        &self.sender.store
    }

    /// The Sender Key for one message (no key schedule is kept: see the type's docs).
    pub(crate) fn sender_cipher(&self) -> MessageKey<'_> {
        MessageKey {
            aead: self.aead,
            key: self.sender.key.expose(),
        }
    }

    /// The Recipient Key for one message.
    pub(crate) fn recipient_cipher(&self) -> MessageKey<'_> {
        MessageKey {
            aead: self.aead,
            key: self.recipient.key.expose(),
        }
    }

    /// Whether requests carry the ID Context as 'kid context'.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// assert!(!client.sends_kid_context()); // no ID Context in C.1.1
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn sends_kid_context(&self) -> bool {
        self.send_kid_context && self.id_context.is_some()
    }

    /// The largest sequence number the AEAD allows (RFC 8613 §7.2.1, §12: at most 2^40 − 1;
    /// AES-CCM with a 7-byte nonce has no room for more than 2^40 − 1 either).
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// assert_eq!(client.max_sequence_number(), (1 << 40) - 1);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn max_sequence_number(&self) -> u64 {
        MAX_SEQUENCE_NUMBER
    }

    /// Takes the next Sender Sequence Number (RFC 8613 §8.1 step 3), persisting first when
    /// Appendix B.1.1 requires it. Nothing changes on error.
    pub(crate) fn take_sequence_number(&mut self) -> Result<u64, Error> {
        let seq = self.sender.seq;
        if seq > MAX_SEQUENCE_NUMBER {
            return Err(Error::SequenceNumberExhausted);
        }
        if seq >= self.sender.next_store_at {
            self.sender.store.store(seq)?;
            self.sender.next_store_at = seq.saturating_add(self.sender.k);
        }
        self.sender.seq = seq + 1;
        Ok(seq)
    }

    /// Peeks at the next Sender Sequence Number without taking it.
    pub(crate) fn peek_sequence_number(&self) -> Result<u64, Error> {
        let seq = self.sender.seq;
        if seq > MAX_SEQUENCE_NUMBER {
            return Err(Error::SequenceNumberExhausted);
        }
        Ok(seq)
    }

    /// Remembers an Echo value the server sends to re-establish its replay window
    /// (RFC 8613 Appendix B.1.2). The value comes from the caller's random source (RFC 9175
    /// §2.3: 8 bytes or more of randomness); a request whose inner Echo equals it initializes
    /// the window.
    ///
    /// ```
    /// # use mote_oscore::{SecurityContext, SecurityContextParams};
    /// # let secret = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    /// # let salt = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];
    /// # let mut p = SecurityContextParams::new(&secret, &[], &[0x01]);
    /// # p.master_salt = &salt;
    /// # let mut client = SecurityContext::new(&p)?; // RFC 8613 C.1.1
    /// // After a reboot the server's window is unknown (Appendix B.1.2); it answers the first
    /// // request with 4.01 and this Echo value, and the request that carries it back resets the
    /// // window. The value comes from the caller's random source.
    /// client.issue_replay_echo(&[0x5c, 0x3a, 0x91, 0x07, 0x44, 0xe2, 0x18, 0xb6])?;
    /// assert!(client.issue_replay_echo(&[0u8; 41]).is_err()); // at most 40 bytes
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn issue_replay_echo(&mut self, echo: &[u8]) -> Result<(), Error> {
        self.recipient.echo_challenge = Some(ShortBytes::new(echo)?);
        Ok(())
    }
}
