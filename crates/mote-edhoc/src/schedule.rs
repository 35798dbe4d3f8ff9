//! The EDHOC key schedule (RFC 9528 §4) and transcript hashes (§5.3.2, §5.4.2): the building
//! blocks the state machines use, public so that each intermediate can be checked against the
//! RFC 9529 traces and reused by tools.

use subtle::ConstantTimeEq;

use crate::buffer::{Bytes, MAX_MESSAGE_LEN, Secret};
use crate::cbor;
use crate::conn_id::ConnId;
use crate::crypto::{Crypto, Digest, PublicKey};
use crate::error::Error;
use crate::suite::CipherSuite;
use mote_cose::cbor::encode_head;

/// Capacity of an HKDF info or a Sig_structure: a context_2/3 holds an ID_CRED and a CRED.
pub const MAX_INFO_LEN: usize = 2 * MAX_MESSAGE_LEN + 128;

/// A scratch buffer for info, context and Sig_structure encodings.
pub type InfoBuf = Bytes<MAX_INFO_LEN>;

/// EDHOC_KDF labels (RFC 9528 Figure 6 and §4.2).
pub mod label {
    /// KEYSTREAM_2.
    pub const KEYSTREAM_2: u64 = 0;
    /// SALT_3e2m.
    pub const SALT_3E2M: u64 = 1;
    /// MAC_2.
    pub const MAC_2: u64 = 2;
    /// K_3.
    pub const K_3: u64 = 3;
    /// IV_3.
    pub const IV_3: u64 = 4;
    /// SALT_4e3m.
    pub const SALT_4E3M: u64 = 5;
    /// MAC_3.
    pub const MAC_3: u64 = 6;
    /// PRK_out.
    pub const PRK_OUT: u64 = 7;
    /// K_4.
    pub const K_4: u64 = 8;
    /// IV_4.
    pub const IV_4: u64 = 9;
    /// PRK_exporter.
    pub const PRK_EXPORTER: u64 = 10;
    /// EDHOC_KeyUpdate (Appendix H).
    pub const KEY_UPDATE: u64 = 11;
}

/// The info of EDHOC_KDF: the CBOR sequence `(label: uint, context: bstr, length: uint)`.
///
/// ```
/// use mote_edhoc::schedule::{kdf_info, label};
/// # let trace = include_str!("../tests/data/rfc9529_trace1.txt");
/// # let v = |key: &str| -> Vec<u8> {
/// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
/// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
/// # };
/// // v(key): the value of `key` in RFC 9529 Trace 1 (the crate's tests/data).
/// // info_for_K_3 = (3, h'<TH_3>', 16)
/// let info = kdf_info(label::K_3, &v("TH_3.raw"), 16)?;
/// assert_eq!(info.as_slice(), v("info_for_K_3.seq"));
/// assert_eq!(info.as_slice()[..3], [0x03, 0x58, 0x20]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline(never)]
pub fn kdf_info(label: u64, context: &[u8], length: usize) -> Result<InfoBuf, Error> {
    let mut info = InfoBuf::new();
    cbor::head(&mut info, cbor::Major::Unsigned, label)?;
    cbor::bytes(&mut info, context)?;
    cbor::head(&mut info, cbor::Major::Unsigned, length as u64)?;
    Ok(info)
}

/// EDHOC_KDF(PRK, label, context, length) = EDHOC_Expand(PRK, info, length) (§4.1.2), with
/// `length = out.len()`.
///
/// ```
/// use mote_edhoc::schedule::{kdf, label};
/// use mote_edhoc::{CipherSuite, MoteCrypto};
/// # let trace = include_str!("../tests/data/rfc9529_trace1.txt");
/// # let v = |key: &str| -> Vec<u8> {
/// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
/// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
/// # };
/// // v(key): the value of `key` in RFC 9529 Trace 1 (the crate's tests/data).
/// let suite = CipherSuite::from_id(0).ok_or("suite 0")?;
/// // K_3 = EDHOC_KDF(PRK_3e2m, 3, TH_3, key_length)
/// let mut k_3 = [0u8; 16];
/// kdf(&mut MoteCrypto::new(), &suite, &v("PRK_3e2m.raw"), label::K_3, &v("TH_3.raw"), &mut k_3)?;
/// assert_eq!(k_3.as_slice(), v("K_3.raw"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline(never)]
pub fn kdf<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    prk: &[u8],
    label: u64,
    context: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    kdf_parts(c, suite, prk, label, &[context], out)
}

/// Most pieces a context is passed in (context_2: C_R, ID_CRED_R, TH_2's head and value,
/// CRED_R, EAD_2).
const MAX_CONTEXT_PARTS: usize = 6;

/// [`kdf`] with the context given as the concatenation of `context`: the info
/// `(label, bstr head, context…, length)` goes to the provider in pieces, so neither the
/// context nor the info is copied into a buffer (docs/performance.md, mote-edhoc).
#[inline(never)]
fn kdf_parts<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    prk: &[u8],
    label: u64,
    context: &[&[u8]],
    out: &mut [u8],
) -> Result<(), Error> {
    let context_len: usize = context.iter().map(|p| p.len()).sum();
    let n = context.len();
    if n > MAX_CONTEXT_PARTS {
        return Err(Error::Capacity {
            what: diag!("KDF context parts"),
            needed: n,
        });
    }
    // Plain arrays, not `Bytes`: the heads are not secret and need no zeroizing.
    let (label_head, label_len) = encode_head(cbor::Major::Unsigned as u8, label);
    let (bstr_head, bstr_len) = encode_head(cbor::Major::Bytes as u8, context_len as u64);
    let (length, length_len) = encode_head(cbor::Major::Unsigned as u8, out.len() as u64);
    let mut parts: [&[u8]; MAX_CONTEXT_PARTS + 3] = [&[]; MAX_CONTEXT_PARTS + 3];
    let [p0, p1, rest @ ..] = &mut parts;
    *p0 = label_head.get(..label_len).unwrap_or(&[]);
    *p1 = bstr_head.get(..bstr_len).unwrap_or(&[]);
    for (slot, part) in rest.iter_mut().zip(context) {
        *slot = part;
    }
    if let Some(slot) = rest.get_mut(n) {
        *slot = length.get(..length_len).unwrap_or(&[]);
    }
    c.hkdf_expand_parts(suite.hash, prk, parts.get(..n + 3).unwrap_or(&[]), out)
}

/// [`kdf`] into a [`Secret`] of `len` ≤ 32 bytes.
///
/// ```
/// use mote_edhoc::schedule::{kdf_secret, label};
/// use mote_edhoc::{CipherSuite, MoteCrypto};
/// # let trace = include_str!("../tests/data/rfc9529_trace1.txt");
/// # let v = |key: &str| -> Vec<u8> {
/// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
/// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
/// # };
/// // v(key): the value of `key` in RFC 9529 Trace 1 (the crate's tests/data).
/// let suite = CipherSuite::from_id(0).ok_or("suite 0")?;
/// // IV_3 = EDHOC_KDF(PRK_3e2m, 4, TH_3, iv_length)
/// let iv_3 = kdf_secret(&mut MoteCrypto::new(), &suite, &v("PRK_3e2m.raw"), label::IV_3, &v("TH_3.raw"), 13)?;
/// assert_eq!(iv_3.as_bytes(), v("IV_3.raw"));
/// // At most 32 bytes.
/// assert!(kdf_secret(&mut MoteCrypto::new(), &suite, &v("PRK_3e2m.raw"), label::IV_3, &[], 33).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline(never)]
pub fn kdf_secret<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    prk: &[u8],
    label: u64,
    context: &[u8],
    len: usize,
) -> Result<Secret, Error> {
    let mut out = [0u8; 32];
    let dst = out.get_mut(..len).ok_or(Error::Capacity {
        what: diag!("KDF output"),
        needed: len,
    })?;
    kdf(c, suite, prk, label, context, dst)?;
    let s = Secret::from_slice(dst);
    zeroize::Zeroize::zeroize(&mut out);
    s
}

#[inline(never)]
fn bstr_head(len: usize) -> ([u8; 9], usize) {
    encode_head(cbor::Major::Bytes as u8, len as u64)
}

/// H(message_1).
///
/// ```
/// use mote_edhoc::schedule::hash_message_1;
/// use mote_edhoc::{CipherSuite, MoteCrypto};
/// # let trace = include_str!("../tests/data/rfc9529_trace1.txt");
/// # let v = |key: &str| -> Vec<u8> {
/// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
/// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
/// # };
/// // v(key): the value of `key` in RFC 9529 Trace 1 (the crate's tests/data).
/// let suite = CipherSuite::from_id(0).ok_or("suite 0")?;
/// let h = hash_message_1(&mut MoteCrypto::new(), &suite, &v("message_1.seq"))?;
/// assert_eq!(h.as_slice(), v("H(message_1).raw"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline(never)]
pub fn hash_message_1<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    message_1: &[u8],
) -> Result<Digest, Error> {
    c.hash(suite.hash, &[message_1])
}

/// TH_2 = H( G_Y, H(message_1) ), both as CBOR bstr (§5.3.2).
///
/// ```
/// use mote_edhoc::schedule::th_2;
/// use mote_edhoc::{CipherSuite, MoteCrypto};
/// # let trace = include_str!("../tests/data/rfc9529_trace1.txt");
/// # let v = |key: &str| -> Vec<u8> {
/// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
/// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
/// # };
/// // v(key): the value of `key` in RFC 9529 Trace 1 (the crate's tests/data).
/// let suite = CipherSuite::from_id(0).ok_or("suite 0")?;
/// let th = th_2(&mut MoteCrypto::new(), &suite, &v("G_Y.raw"), &v("H(message_1).raw"))?;
/// assert_eq!(th.as_slice(), v("TH_2.raw"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline(never)]
pub fn th_2<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    g_y: &[u8],
    h_message_1: &[u8],
) -> Result<Digest, Error> {
    let (h1, n1) = bstr_head(g_y.len());
    let (h2, n2) = bstr_head(h_message_1.len());
    c.hash(
        suite.hash,
        &[
            h1.get(..n1.min(9)).unwrap_or(&[]),
            g_y,
            h2.get(..n2.min(9)).unwrap_or(&[]),
            h_message_1,
        ],
    )
}

/// TH_3 = H( TH_2, PLAINTEXT_2, CRED_R ) and TH_4 = H( TH_3, PLAINTEXT_3, CRED_I ) (§5.3.2,
/// §5.4.2): the previous transcript hash as bstr, the plaintext and the credential as is.
///
/// ```
/// use mote_edhoc::schedule::th_next;
/// use mote_edhoc::{CipherSuite, MoteCrypto};
/// # let trace = include_str!("../tests/data/rfc9529_trace1.txt");
/// # let v = |key: &str| -> Vec<u8> {
/// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
/// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
/// # };
/// // v(key): the value of `key` in RFC 9529 Trace 1 (the crate's tests/data).
/// let suite = CipherSuite::from_id(0).ok_or("suite 0")?;
/// let mut crypto = MoteCrypto::new();
/// // The credentials are X.509 certificates, so CRED_x is the certificate as a CBOR bstr.
/// let th_3 = th_next(&mut crypto, &suite, &v("TH_2.raw"), &v("PLAINTEXT_2.seq"), &v("CRED_R.cbor"))?;
/// assert_eq!(th_3.as_slice(), v("TH_3.raw"));
/// let th_4 = th_next(&mut crypto, &suite, th_3.as_slice(), &v("PLAINTEXT_3.seq"), &v("CRED_I.cbor"))?;
/// assert_eq!(th_4.as_slice(), v("TH_4.raw"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline(never)]
pub fn th_next<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    th: &[u8],
    plaintext: &[u8],
    cred: &[u8],
) -> Result<Digest, Error> {
    let (h, n) = bstr_head(th.len());
    c.hash(
        suite.hash,
        &[h.get(..n.min(9)).unwrap_or(&[]), th, plaintext, cred],
    )
}

/// context_2 = << C_R, ID_CRED_R, TH_2, CRED_R, ? EAD_2 >> (with `c_r`) or
/// context_3 = << ID_CRED_I, TH_3, CRED_I, ? EAD_3 >> (without), as the byte sequence.
///
/// ```
/// use mote_edhoc::ConnId;
/// use mote_edhoc::schedule::mac_context;
/// # let trace = include_str!("../tests/data/rfc9529_trace1.txt");
/// # let v = |key: &str| -> Vec<u8> {
/// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
/// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
/// # };
/// // v(key): the value of `key` in RFC 9529 Trace 1 (the crate's tests/data).
/// let c_r = ConnId::from_slice(&v("C_R.raw"))?;
/// let context_2 = mac_context(Some(&c_r), &v("ID_CRED_R.cbor"), &v("TH_2.raw"), &v("CRED_R.cbor"), &v("EAD_2.seq"))?;
/// assert_eq!(context_2.as_slice(), v("context_2.seq"));
/// let context_3 = mac_context(None, &v("ID_CRED_I.cbor"), &v("TH_3.raw"), &v("CRED_I.cbor"), &[])?;
/// assert_eq!(context_3.as_slice(), v("context_3.seq"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline(never)]
pub fn mac_context(
    c_r: Option<&ConnId>,
    id_cred: &[u8],
    th: &[u8],
    cred: &[u8],
    ead: &[u8],
) -> Result<InfoBuf, Error> {
    let mut ctx = InfoBuf::new();
    if let Some(c_r) = c_r {
        c_r.encode(&mut ctx)?;
    }
    ctx.extend(id_cred)?;
    cbor::bytes(&mut ctx, th)?;
    ctx.extend(cred)?;
    ctx.extend(ead)?;
    Ok(ctx)
}

/// The Sig_structure signed as Signature_or_MAC_2/3 (§5.3.2, §5.4.2):
/// `["Signature1", << ID_CRED >>, << TH, CRED, ? EAD >>, MAC]`.
///
/// ```
/// use mote_edhoc::schedule::sig_structure;
/// # let trace = include_str!("../tests/data/rfc9529_trace1.txt");
/// # let v = |key: &str| -> Vec<u8> {
/// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
/// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
/// # };
/// // v(key): the value of `key` in RFC 9529 Trace 1 (the crate's tests/data).
/// let to_sign = sig_structure(&v("ID_CRED_R.cbor"), &v("TH_2.raw"), &v("CRED_R.cbor"), &[], &v("MAC_2.raw"))?;
/// assert_eq!(to_sign.as_slice(), v("Message_to_be_signed_2.cbor"));
/// assert_eq!(to_sign.as_slice()[..12], *b"\x84\x6aSignature1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline(never)]
pub fn sig_structure(
    id_cred: &[u8],
    th: &[u8],
    cred: &[u8],
    ead: &[u8],
    mac: &[u8],
) -> Result<InfoBuf, Error> {
    let mut s = InfoBuf::new();
    cbor::head(&mut s, cbor::Major::Array, 4)?;
    cbor::text(&mut s, "Signature1")?;
    cbor::bytes(&mut s, id_cred)?;
    let (h, n) = bstr_head(th.len());
    let ext_len = n + th.len() + cred.len() + ead.len();
    cbor::head(&mut s, cbor::Major::Bytes, ext_len as u64)?;
    s.extend(h.get(..n.min(9)).unwrap_or(&[]))?;
    s.extend(th)?;
    s.extend(cred)?;
    s.extend(ead)?;
    cbor::bytes(&mut s, mac)?;
    Ok(s)
}

/// The AEAD associated data A_3 / A_4 = `["Encrypt0", h'', TH]` (§5.4.2, §5.5.2).
///
/// ```
/// use mote_edhoc::schedule::encrypt0_aad;
/// # let trace = include_str!("../tests/data/rfc9529_trace1.txt");
/// # let v = |key: &str| -> Vec<u8> {
/// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
/// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
/// # };
/// // v(key): the value of `key` in RFC 9529 Trace 1 (the crate's tests/data).
/// let a_3 = encrypt0_aad(&v("TH_3.raw"))?;
/// assert_eq!(a_3.as_slice(), v("A_3.cbor"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline(never)]
pub fn encrypt0_aad(th: &[u8]) -> Result<Bytes<64>, Error> {
    // array(3), tstr "Encrypt0", bstr h'': the fixed prefix of every A_3 / A_4.
    const PREFIX: &[u8] = b"\x83\x68Encrypt0\x40";
    let mut a = Bytes::from_slice(PREFIX)?;
    cbor::bytes(&mut a, th)?;
    Ok(a)
}

/// Length of MAC_2/MAC_3: the hash length when the sender signs, the EDHOC MAC length when it
/// authenticates with static DH (§5.3.2).
///
/// ```
/// use mote_edhoc::CipherSuite;
/// use mote_edhoc::schedule::mac_len;
/// let suite_0 = CipherSuite::from_id(0).ok_or("suite 0")?;
/// assert_eq!(mac_len(&suite_0, false), 32); // a signing sender: the SHA-256 length
/// assert_eq!(mac_len(&suite_0, true), 8); // static DH: suite 0's EDHOC MAC length
/// let suite_3 = CipherSuite::from_id(3).ok_or("suite 3")?;
/// assert_eq!(mac_len(&suite_3, true), 16); // suite 3: 16-byte MAC
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline(never)]
pub fn mac_len(suite: &CipherSuite, static_dh: bool) -> usize {
    if static_dh {
        suite.mac_len
    } else {
        suite.hash_len()
    }
}

/// Everything that authenticates one side in message_2 or message_3.
pub(crate) struct AuthInput<'a> {
    pub(crate) static_dh: bool,
    pub(crate) mac_label: u64,
    pub(crate) c_r: Option<&'a ConnId>,
    pub(crate) id_cred: &'a [u8],
    pub(crate) th: &'a [u8],
    pub(crate) cred: &'a [u8],
    pub(crate) ead: &'a [u8],
}

#[inline(never)]
fn compute_mac<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    prk: &[u8],
    a: &AuthInput<'_>,
) -> Result<Bytes<32>, Error> {
    // context_2/3 (the layout of `mac_context`), in pieces.
    let mut c_r = Bytes::<{ crate::buffer::MAX_CONN_ID_LEN + 1 }>::new();
    if let Some(id) = a.c_r {
        id.encode(&mut c_r)?;
    }
    let (th_head, th_head_len) = bstr_head(a.th.len());
    let context = [
        c_r.as_slice(),
        a.id_cred,
        th_head.get(..th_head_len.min(9)).unwrap_or(&[]),
        a.th,
        a.cred,
        a.ead,
    ];
    let n = mac_len(suite, a.static_dh);
    let mut mac = Bytes::<32>::new();
    mac.set_len(n)?;
    kdf_parts(c, suite, prk, a.mac_label, &context, mac.as_mut_slice())?;
    Ok(mac)
}

/// Signature_or_MAC_2/3: MAC_x, signed unless the sender uses static DH.
#[inline(never)]
pub(crate) fn signature_or_mac<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    prk: &[u8],
    a: &AuthInput<'_>,
    private_key: &Secret,
    public_key: &PublicKey,
) -> Result<Bytes<64>, Error> {
    let mac = compute_mac(c, suite, prk, a)?;
    if a.static_dh {
        return Bytes::from_slice(mac.as_slice());
    }
    #[cfg(feature = "signatures")]
    {
        let tbs = sig_structure(a.id_cred, a.th, a.cred, a.ead, mac.as_slice())?;
        let sig =
            c.sign_with_public_key(suite.signature, private_key, public_key, tbs.as_slice())?;
        Bytes::from_slice(&sig)
    }
    #[cfg(not(feature = "signatures"))]
    {
        let _ = (private_key, public_key);
        Err(Error::UnsupportedMethod(0))
    }
}

/// Checks a received Signature_or_MAC_2/3 (MAC compared in constant time).
#[inline(never)]
pub(crate) fn verify_signature_or_mac<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    prk: &[u8],
    a: &AuthInput<'_>,
    public_key: &PublicKey,
    received: &[u8],
) -> Result<(), Error> {
    let mac = compute_mac(c, suite, prk, a)?;
    if a.static_dh {
        return if bool::from(mac.as_slice().ct_eq(received)) {
            Ok(())
        } else {
            Err(Error::AuthenticationFailed)
        };
    }
    #[cfg(feature = "signatures")]
    {
        let tbs = sig_structure(a.id_cred, a.th, a.cred, a.ead, mac.as_slice())?;
        c.verify(suite.signature, public_key, tbs.as_slice(), received)
            .map_err(|_| Error::AuthenticationFailed)
    }
    #[cfg(not(feature = "signatures"))]
    {
        let _ = public_key;
        Err(Error::UnsupportedMethod(0))
    }
}

/// The expected length of Signature_or_MAC_x (§9.3: a MAC is at least 8 bytes).
#[inline(never)]
pub(crate) fn signature_or_mac_len(suite: &CipherSuite, static_dh: bool) -> usize {
    if static_dh {
        suite.mac_len
    } else {
        suite.signature.signature_len()
    }
}

/// message_3 or message_4: K and IV for message_3 (labels 3, 4 from PRK_3e2m) or message_4 (8,
/// 9 from PRK_4e3m), the AEAD applied with A = `["Encrypt0", h'', TH]`, and the ciphertext as
/// the message's one CBOR bstr (§5.4.1, §5.5.1). The plaintext is encrypted in place behind the
/// bstr head, in the message buffer itself.
#[inline(never)]
pub(crate) fn seal<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    prk: &[u8],
    labels: (u64, u64),
    th: &[u8],
    plaintext: &[u8],
) -> Result<Bytes<MAX_MESSAGE_LEN>, Error> {
    let key = kdf_secret(c, suite, prk, labels.0, th, suite.aead.key_len())?;
    let iv = kdf_secret(c, suite, prk, labels.1, th, suite.aead.nonce_len())?;
    let aad = encrypt0_aad(th)?;
    let ct_len = plaintext.len() + suite.aead.tag_len();
    let mut msg = Bytes::<MAX_MESSAGE_LEN>::new();
    cbor::head(&mut msg, cbor::Major::Bytes, ct_len as u64)?;
    let at = msg.len();
    msg.extend(plaintext)?;
    msg.set_len(at + ct_len).map_err(|_| Error::Capacity {
        what: diag!("ciphertext"),
        needed: at + ct_len,
    })?;
    let n = c.aead_encrypt(
        suite.aead,
        key.as_bytes(),
        iv.as_bytes(),
        aad.as_slice(),
        msg.as_mut_slice().get_mut(at..).unwrap_or(&mut []),
        plaintext.len(),
    )?;
    // The bstr head above announced plaintext + tag.
    if n != ct_len {
        return Err(Error::Crypto);
    }
    Ok(msg)
}

/// Inverse of [`seal`] on the ciphertext (the message's bstr content): verifies and decrypts;
/// fails with [`Error::AuthenticationFailed`].
#[inline(never)]
pub(crate) fn open<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    prk: &[u8],
    labels: (u64, u64),
    th: &[u8],
    ciphertext: &[u8],
) -> Result<Bytes<MAX_MESSAGE_LEN>, Error> {
    if ciphertext.len() < suite.aead.tag_len() {
        return Err(Error::AuthenticationFailed);
    }
    let key = kdf_secret(c, suite, prk, labels.0, th, suite.aead.key_len())?;
    let iv = kdf_secret(c, suite, prk, labels.1, th, suite.aead.nonce_len())?;
    let aad = encrypt0_aad(th)?;
    let mut buf = Bytes::<MAX_MESSAGE_LEN>::from_slice(ciphertext)?;
    let n = c
        .aead_decrypt(
            suite.aead,
            key.as_bytes(),
            iv.as_bytes(),
            aad.as_slice(),
            buf.as_mut_slice(),
        )
        .map_err(|_| Error::AuthenticationFailed)?;
    buf.set_len(n)?;
    Ok(buf)
}

/// XORs `data` with KEYSTREAM_2 = EDHOC_KDF(PRK_2e, 0, TH_2, len) (§5.3.2).
///
/// ```
/// use mote_edhoc::schedule::apply_keystream_2;
/// use mote_edhoc::{CipherSuite, MoteCrypto};
/// # let trace = include_str!("../tests/data/rfc9529_trace1.txt");
/// # let v = |key: &str| -> Vec<u8> {
/// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
/// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
/// # };
/// // v(key): the value of `key` in RFC 9529 Trace 1 (the crate's tests/data).
/// let suite = CipherSuite::from_id(0).ok_or("suite 0")?;
/// let mut data = v("PLAINTEXT_2.seq");
/// apply_keystream_2(&mut MoteCrypto::new(), &suite, &v("PRK_2e.raw"), &v("TH_2.raw"), &mut data)?;
/// assert_eq!(data, v("CIPHERTEXT_2.raw"));
/// // XOR again: the plaintext comes back.
/// apply_keystream_2(&mut MoteCrypto::new(), &suite, &v("PRK_2e.raw"), &v("TH_2.raw"), &mut data)?;
/// assert_eq!(data, v("PLAINTEXT_2.seq"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline(never)]
pub fn apply_keystream_2<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    prk_2e: &[u8],
    th_2: &[u8],
    data: &mut [u8],
) -> Result<(), Error> {
    let mut ks = Bytes::<MAX_MESSAGE_LEN>::new();
    ks.set_len(data.len())?;
    kdf(
        c,
        suite,
        prk_2e,
        label::KEYSTREAM_2,
        th_2,
        ks.as_mut_slice(),
    )?;
    for (d, k) in data.iter_mut().zip(ks.as_slice()) {
        *d ^= k;
    }
    Ok(())
}

/// PRK_3e2m (§4.1.1.2): PRK_2e when the Responder signs, else
/// EDHOC_Extract(SALT_3e2m, G_RX) with SALT_3e2m = EDHOC_KDF(PRK_2e, 1, TH_2, hash_length).
///
/// ```
/// use mote_edhoc::schedule::prk_3e2m;
/// use mote_edhoc::{CipherSuite, MoteCrypto, Secret};
/// # let trace = include_str!("../tests/data/rfc9529_trace2.txt");
/// # let v = |key: &str| -> Vec<u8> {
/// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
/// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
/// # };
/// // v(key): the value of `key` in RFC 9529 Trace 2 (method 3, suite 2; the crate's tests/data).
/// let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
/// let prk_2e = Secret::from_slice(&v("PRK_2e.raw"))?;
/// let g_rx = Secret::from_slice(&v("G_RX.raw"))?;
/// let mut crypto = MoteCrypto::new();
/// // The Responder authenticates with static DH: PRK_3e2m = Extract(SALT_3e2m, G_RX).
/// let prk = prk_3e2m(&mut crypto, &suite, &prk_2e, &v("TH_2.raw"), Some(&g_rx))?;
/// assert_eq!(prk.as_bytes(), v("PRK_3e2m.raw"));
/// // A signing Responder: PRK_3e2m is PRK_2e.
/// let prk = prk_3e2m(&mut crypto, &suite, &prk_2e, &v("TH_2.raw"), None)?;
/// assert_eq!(prk.as_bytes(), v("PRK_2e.raw"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline]
pub fn prk_3e2m<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    prk_2e: &Secret,
    th_2: &[u8],
    g_rx: Option<&Secret>,
) -> Result<Secret, Error> {
    prk_static(c, suite, prk_2e, label::SALT_3E2M, th_2, g_rx)
}

/// PRK_4e3m (§4.1.1.3): PRK_3e2m when the Initiator signs, else
/// EDHOC_Extract(SALT_4e3m, G_IY) with SALT_4e3m = EDHOC_KDF(PRK_3e2m, 5, TH_3, hash_length).
///
/// ```
/// use mote_edhoc::schedule::prk_4e3m;
/// use mote_edhoc::{CipherSuite, MoteCrypto, Secret};
/// # let trace = include_str!("../tests/data/rfc9529_trace2.txt");
/// # let v = |key: &str| -> Vec<u8> {
/// #     let line = trace.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = "));
/// #     hex::decode(line.expect("key in the trace").trim()).expect("hex")
/// # };
/// // v(key): the value of `key` in RFC 9529 Trace 2 (method 3, suite 2; the crate's tests/data).
/// let suite = CipherSuite::from_id(2).ok_or("suite 2")?;
/// let prk_3e2m = Secret::from_slice(&v("PRK_3e2m.raw"))?;
/// let g_iy = Secret::from_slice(&v("G_IY.raw"))?;
/// let mut crypto = MoteCrypto::new();
/// // The Initiator authenticates with static DH: PRK_4e3m = Extract(SALT_4e3m, G_IY).
/// let prk = prk_4e3m(&mut crypto, &suite, &prk_3e2m, &v("TH_3.raw"), Some(&g_iy))?;
/// assert_eq!(prk.as_bytes(), v("PRK_4e3m.raw"));
/// // A signing Initiator: PRK_4e3m is PRK_3e2m.
/// let prk = prk_4e3m(&mut crypto, &suite, &prk_3e2m, &v("TH_3.raw"), None)?;
/// assert_eq!(prk.as_bytes(), v("PRK_3e2m.raw"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline]
pub fn prk_4e3m<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    prk_3e2m: &Secret,
    th_3: &[u8],
    g_iy: Option<&Secret>,
) -> Result<Secret, Error> {
    prk_static(c, suite, prk_3e2m, label::SALT_4E3M, th_3, g_iy)
}

/// The body of [`prk_3e2m`] and [`prk_4e3m`] (one copy in the binary): `prk` itself without
/// a static DH secret `g`, else EDHOC_Extract(EDHOC_KDF(prk, salt_label, th, hash_length), g).
#[inline(never)]
fn prk_static<C: Crypto>(
    c: &mut C,
    suite: &CipherSuite,
    prk: &Secret,
    salt_label: u64,
    th: &[u8],
    g: Option<&Secret>,
) -> Result<Secret, Error> {
    match g {
        None => Ok(prk.clone()),
        Some(g) => {
            let salt = kdf_secret(c, suite, prk.as_bytes(), salt_label, th, suite.hash_len())?;
            c.hkdf_extract(suite.hash, salt.as_bytes(), g.as_bytes())
        }
    }
}
