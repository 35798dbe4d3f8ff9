//! Data-driven conformance test over the COSE WG examples (tests/data/cose-wg, public domain).
//!
//! For every example whose algorithms this crate implements:
//! - the expected output decodes, verifies or decrypts with the example's key, and yields the
//!   example's plaintext;
//! - the intermediates (`AAD_hex`, `ToBeSign_hex`, `CEK_hex`, `Context_hex`) match byte for byte;
//! - where the algorithm is deterministic (everything but ECDSA, and ECDH-ES whose ephemeral key
//!   is copied from the message), re-sealing with the same key and nonce reproduces the output
//!   byte for byte (not for examples whose output was altered by a `failures` directive);
//! - every `"fail": true` example is rejected with the error class its `failures` directive
//!   implies ([`EXPECTED_FAILURES`]);
//! - the number of examples run, passed, skipped and re-sealed byte for byte in each directory
//!   is exactly [`EXPECTED_COUNTS`].
//!
//! Examples that need algorithms outside this crate's scope (AES key wrap, AES-CBC-MAC, ES512,
//! P-521, Ed448) are skipped by file name, each with its reason ([`SKIPPED`]).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use mote_cose::algorithm::SignatureAlgorithm;
use mote_cose::header::Label;
use mote_cose::key::{CoseKey, EcY, KeyType, curve};
use mote_cose::message::{Encrypt0, Encrypt0Builder, Mac0, Mac0Builder, Sign1, Sign1Builder};
use mote_cose::multi::{Encrypt, EncryptBuilder, Mac, MacBuilder, Recipient, Sign, SignBuilder};
use mote_cose::structure::{EncContext, enc_structure, sig_structure};
use serde_json::Value;

/// Examples skipped because they need an algorithm outside this crate's scope, by file name
/// (directory, file, reason). Every entry must exist and be skipped; nothing else is skipped.
const SKIPPED: &[(&str, &str, &str)] = &[
    (
        "RFC8152",
        "Appendix_B.json",
        "recipient uses A128KW (AES key wrap)",
    ),
    (
        "RFC8152",
        "Appendix_C_1_2.json",
        "second signer uses ES512 on P-521",
    ),
    (
        "RFC8152",
        "Appendix_C_3_3.json",
        "ECDH-ES recipient key on P-521",
    ),
    (
        "RFC8152",
        "Appendix_C_3_4.json",
        "ECDH-ES + A128KW (AES key wrap)",
    ),
    (
        "RFC8152",
        "Appendix_C_5_1.json",
        "AES-MAC (AES-CBC-MAC-256//64)",
    ),
    (
        "RFC8152",
        "Appendix_C_5_3.json",
        "AES-MAC and A256KW recipient",
    ),
    (
        "RFC8152",
        "Appendix_C_5_4.json",
        "recipients use A128KW, A256KW and P-521",
    ),
    (
        "RFC8152",
        "Appendix_C_6_1.json",
        "AES-MAC (AES-CBC-MAC-128//64)",
    ),
    ("ecdh-direct-examples", "p521-hkdf-256-01.json", "P-521"),
    ("ecdh-direct-examples", "p521-hkdf-256-02.json", "P-521"),
    ("ecdh-direct-examples", "p521-hkdf-256-03.json", "P-521"),
    ("ecdh-direct-examples", "p521-hkdf-512-01.json", "P-521"),
    ("ecdh-direct-examples", "p521-hkdf-512-02.json", "P-521"),
    ("ecdh-direct-examples", "p521-hkdf-512-03.json", "P-521"),
    ("ecdh-direct-examples", "p521-ss-hkdf-256-01.json", "P-521"),
    ("ecdh-direct-examples", "p521-ss-hkdf-256-02.json", "P-521"),
    ("ecdh-direct-examples", "p521-ss-hkdf-256-03.json", "P-521"),
    ("ecdh-direct-examples", "p521-ss-hkdf-512-01.json", "P-521"),
    ("ecdh-direct-examples", "p521-ss-hkdf-512-02.json", "P-521"),
    ("ecdh-direct-examples", "p521-ss-hkdf-512-03.json", "P-521"),
    ("ecdsa-examples", "ecdsa-03.json", "ES512 on P-521"),
    ("ecdsa-examples", "ecdsa-04.json", "ES512 (SHA-512)"),
    ("ecdsa-examples", "ecdsa-sig-03.json", "ES512 on P-521"),
    ("ecdsa-examples", "ecdsa-sig-04.json", "ES512 (SHA-512)"),
    ("eddsa-examples", "eddsa-02.json", "Ed448"),
    ("eddsa-examples", "eddsa-sig-02.json", "Ed448"),
];

/// What is wrong with a `"fail": true` example, as its `input.failures` directive says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorClass {
    /// The authenticated bytes no longer match the tag or signature: `ChangeTag` alters the
    /// tag/signature, `AddProtected`/`RemoveProtected` alter the protected header that the tag
    /// covers (RFC 9052 §4.4, §5.3, §6.3).
    Authentication,
    /// The message is not the COSE structure it claims to be: `ChangeCBORTag` replaces the
    /// CBOR tag with one that is not the structure's (RFC 9052 §2).
    Malformed,
    /// `ChangeAttr {"alg": ...}` puts an algorithm no registry defines (RFC 9052 §3.1: an
    /// unknown algorithm is an error).
    UnsupportedAlgorithm,
}

/// Expected error class of every `"fail": true` example (directory, file, `failures` directive,
/// class). Written from each example's JSON, not from what the code returns.
const EXPECTED_FAILURES: &[(&str, &str, &str, ErrorClass)] = &[
    (
        "aes-gcm-examples",
        "aes-gcm-04.json",
        "ChangeTag",
        ErrorClass::Authentication,
    ),
    (
        "aes-gcm-examples",
        "aes-gcm-enc-04.json",
        "ChangeTag",
        ErrorClass::Authentication,
    ),
    (
        "encrypted-tests",
        "enc-fail-01.json",
        "ChangeCBORTag 995",
        ErrorClass::Malformed,
    ),
    (
        "encrypted-tests",
        "enc-fail-02.json",
        "ChangeTag",
        ErrorClass::Authentication,
    ),
    (
        "encrypted-tests",
        "enc-fail-03.json",
        "ChangeAttr alg -999",
        ErrorClass::UnsupportedAlgorithm,
    ),
    (
        "encrypted-tests",
        "enc-fail-04.json",
        "ChangeAttr alg \"Unknown\"",
        ErrorClass::UnsupportedAlgorithm,
    ),
    (
        "encrypted-tests",
        "enc-fail-06.json",
        "AddProtected ctyp",
        ErrorClass::Authentication,
    ),
    (
        "encrypted-tests",
        "enc-fail-07.json",
        "RemoveProtected ctyp",
        ErrorClass::Authentication,
    ),
    (
        "hmac-examples",
        "HMac-04.json",
        "ChangeTag",
        ErrorClass::Authentication,
    ),
    (
        "hmac-examples",
        "HMac-enc-04.json",
        "ChangeTag",
        ErrorClass::Authentication,
    ),
    (
        "mac0-tests",
        "mac-fail-01.json",
        "ChangeCBORTag 992",
        ErrorClass::Malformed,
    ),
    (
        "mac0-tests",
        "mac-fail-02.json",
        "ChangeTag",
        ErrorClass::Authentication,
    ),
    (
        "mac0-tests",
        "mac-fail-03.json",
        "ChangeAttr alg -999",
        ErrorClass::UnsupportedAlgorithm,
    ),
    (
        "mac0-tests",
        "mac-fail-04.json",
        "ChangeAttr alg \"Unknown\"",
        ErrorClass::UnsupportedAlgorithm,
    ),
    (
        "mac0-tests",
        "mac-fail-06.json",
        "AddProtected ctyp",
        ErrorClass::Authentication,
    ),
    (
        "mac0-tests",
        "mac-fail-07.json",
        "RemoveProtected ctyp",
        ErrorClass::Authentication,
    ),
    (
        "sign1-tests",
        "sign-fail-01.json",
        "ChangeCBORTag 998",
        ErrorClass::Malformed,
    ),
    (
        "sign1-tests",
        "sign-fail-02.json",
        "ChangeTag",
        ErrorClass::Authentication,
    ),
    (
        "sign1-tests",
        "sign-fail-03.json",
        "ChangeAttr alg -999",
        ErrorClass::UnsupportedAlgorithm,
    ),
    (
        "sign1-tests",
        "sign-fail-04.json",
        "ChangeAttr alg \"unknown\"",
        ErrorClass::UnsupportedAlgorithm,
    ),
    (
        "sign1-tests",
        "sign-fail-06.json",
        "AddProtected ctyp",
        ErrorClass::Authentication,
    ),
    (
        "sign1-tests",
        "sign-fail-07.json",
        "RemoveProtected ctyp",
        ErrorClass::Authentication,
    ),
];

/// Per directory: (examples, run, passed, skipped, byte-exact re-seal). Every example that runs
/// must pass, so run == passed; skipped == the directory's entries in [`SKIPPED`]. Byte-exact
/// re-sealing is checked for every example that is neither altered by a `failures` directive
/// nor signed with ECDSA (randomised), and must succeed.
const EXPECTED_COUNTS: &[(&str, [usize; 5])] = &[
    ("RFC8152", [17, 9, 9, 8, 5]),
    ("X25519-tests", [2, 2, 2, 0, 2]),
    ("aes-ccm-examples", [16, 16, 16, 0, 16]),
    ("aes-gcm-examples", [9, 9, 9, 0, 7]),
    ("chacha-poly-examples", [2, 2, 2, 0, 2]),
    ("ecdh-direct-examples", [24, 12, 12, 12, 12]),
    ("ecdsa-examples", [8, 4, 4, 4, 0]),
    ("eddsa-examples", [4, 2, 2, 2, 2]),
    ("encrypted-tests", [10, 10, 10, 0, 2]),
    ("hkdf-hmac-sha-examples", [28, 28, 28, 0, 28]),
    ("hmac-examples", [10, 10, 10, 0, 8]),
    ("mac0-tests", [10, 10, 10, 0, 2]),
    ("sign1-tests", [9, 9, 9, 0, 0]),
];

/// Why a run of one example did not verify.
#[derive(Debug)]
enum Failure {
    /// The crate rejected the message.
    Cose(mote_cose::Error),
    /// The crate accepted it but an output or intermediate differs from the example.
    Mismatch(&'static str),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Cose(e) => write!(f, "rejected: {e:?}"),
            Failure::Mismatch(what) => write!(f, "accepted, but {what} differs"),
        }
    }
}

impl From<mote_cose::Error> for Failure {
    fn from(e: mote_cose::Error) -> Self {
        Failure::Cose(e)
    }
}

/// The class of an error the crate returned.
fn class_of(e: &mote_cose::Error) -> Option<ErrorClass> {
    use mote_cose::Error as E;
    match e {
        E::Crypto => Some(ErrorClass::Authentication),
        E::Cbor { .. }
        | E::Structure(_)
        | E::DuplicateLabel
        | E::Header { .. }
        | E::UnknownCritical => Some(ErrorClass::Malformed),
        E::Algorithm(_) | E::MissingAlgorithm => Some(ErrorClass::UnsupportedAlgorithm),
        _ => None,
    }
}

fn b64url(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn hexs(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

struct Jwk {
    kty: KeyType,
    crv: Option<i64>,
    x: Option<Vec<u8>>,
    y: Option<Vec<u8>>,
    d: Option<Vec<u8>>,
    k: Option<Vec<u8>>,
}

impl Jwk {
    fn from_json(v: &Value) -> Jwk {
        let field = |name: &str| {
            v.get(name)
                .map(|s| b64url(s.as_str().unwrap()))
                .or_else(|| v.get(format!("{name}_hex")).map(hexs))
        };
        let kty = match v["kty"].as_str().unwrap() {
            "oct" => KeyType::Symmetric,
            "EC" => KeyType::Ec2,
            "OKP" => KeyType::Okp,
            other => panic!("kty {other}"),
        };
        let crv = v.get("crv").map(|c| match c.as_str().unwrap() {
            "P-256" => curve::P256,
            "P-384" => curve::P384,
            "P-521" => curve::P521,
            "X25519" => curve::X25519,
            "Ed25519" => curve::ED25519,
            "Ed448" => curve::ED448,
            other => panic!("crv {other}"),
        });
        Jwk {
            kty,
            crv,
            x: field("x"),
            y: field("y"),
            d: field("d"),
            k: field("k"),
        }
    }

    fn key(&self) -> CoseKey<'_> {
        match self.kty {
            KeyType::Symmetric => CoseKey::symmetric(self.k.as_deref().unwrap()),
            kty => CoseKey::curve_key(
                kty,
                self.crv.unwrap(),
                self.x.as_deref().unwrap_or(&[]),
                self.y.as_deref().map(EcY::Coordinate),
                self.d.as_deref(),
            ),
        }
    }
}

fn sig_alg(name: &str) -> SignatureAlgorithm {
    match name {
        "ES256" => SignatureAlgorithm::Es256,
        "ES384" => SignatureAlgorithm::Es384,
        "EdDSA" => SignatureAlgorithm::EdDsa,
        other => panic!("signature alg {other}"),
    }
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Pass { byte_exact: bool },
}

/// Party information and `SuppPubInfo.other` that the example agrees out of band ("unsent").
struct Unsent {
    u_id: Option<Vec<u8>>,
    v_id: Option<Vec<u8>>,
    u_nonce: Option<Vec<u8>>,
    v_nonce: Option<Vec<u8>>,
    u_other: Option<Vec<u8>>,
    v_other: Option<Vec<u8>>,
    pub_other: Option<Vec<u8>>,
    priv_other: Option<Vec<u8>>,
}

impl Unsent {
    fn from_json(r: &Value) -> Option<Unsent> {
        let u = r.get("unsent")?;
        let s = |n: &str| {
            u.get(n)
                .and_then(Value::as_str)
                .map(|v| v.as_bytes().to_vec())
        };
        let bstr_item = |n: &str| {
            u.get(n).and_then(Value::as_str).map(|v| {
                let mut item = Vec::new();
                mote_cose::cbor::Encoder::new(&mut item)
                    .bytes(v.as_bytes())
                    .unwrap();
                item
            })
        };
        Some(Unsent {
            u_id: s("apu_id"),
            v_id: s("apv_id"),
            u_nonce: bstr_item("apu_nonce"),
            v_nonce: bstr_item("apv_nonce"),
            u_other: s("apu_other"),
            v_other: s("apv_other"),
            pub_other: s("pub_other"),
            priv_other: s("priv_other"),
        })
    }

    fn context<'a>(
        &'a self,
        r: &Recipient<'a>,
        alg: i64,
        key_len: usize,
    ) -> mote_cose::kdf::KdfContext<'a> {
        let mut c = r.kdf_context(alg, key_len);
        c.party_u.identity = self.u_id.as_deref().or(c.party_u.identity);
        c.party_v.identity = self.v_id.as_deref().or(c.party_v.identity);
        c.party_u.nonce = self.u_nonce.as_deref().or(c.party_u.nonce);
        c.party_v.nonce = self.v_nonce.as_deref().or(c.party_v.nonce);
        c.party_u.other = self.u_other.as_deref().or(c.party_u.other);
        c.party_v.other = self.v_other.as_deref().or(c.party_v.other);
        c.supp_pub_other = self.pub_other.as_deref();
        c.supp_priv_info = self.priv_other.as_deref();
        c
    }
}

fn external(section: &Value) -> Vec<u8> {
    section.get("external").map(hexs).unwrap_or_default()
}

/// Runs one example; `Err` is a conformance failure. `expected_failure` is the class the
/// example must be rejected with (from [`EXPECTED_FAILURES`]), `None` if it must verify.
fn run(path: &Path, expected_failure: Option<ErrorClass>) -> Result<Outcome, String> {
    let text = fs::read_to_string(path).unwrap();
    let j: Value = serde_json::from_str(&text).unwrap();
    let fail = j.get("fail").and_then(Value::as_bool).unwrap_or(false);
    if fail != expected_failure.is_some() {
        return Err(format!(
            "\"fail\": {fail} in the example but the expectation table says {expected_failure:?}"
        ));
    }
    let altered = j["input"].get("failures").is_some();
    let cbor = hexs(&j["output"]["cbor"]);
    let plaintext = j["input"]["plaintext"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    let inter = &j["intermediates"];
    let input = &j["input"];
    let check = |ok: bool, what: &'static str| {
        if ok {
            Ok(())
        } else {
            Err(Failure::Mismatch(what))
        }
    };

    // Each arm returns Ok(byte_exact) when the message verified, Err(reason) otherwise.
    let verified: Result<bool, Failure> = if let Some(sec) = input.get("encrypted") {
        (|| -> Result<bool, Failure> {
            let ext = external(sec);
            let jwk = Jwk::from_json(&sec["recipients"][0]["key"]);
            let key = jwk.key();
            let k = key.symmetric_key()?;
            let m = Encrypt0::decode(&cbor)?;
            // RFC 9052 §3.1 Partial IV: the example gives the full IV as "unsent"; the context
            // IV is that IV with the Partial IV XORed back out.
            let base_iv = sec.get("unsent").and_then(|u| u.get("IV_hex")).map(|iv| {
                let mut iv = hexs(iv);
                let piv = m.unprotected.partial_iv.unwrap_or(&[]);
                let off = iv.len() - piv.len();
                for (a, b) in iv[off..].iter_mut().zip(piv) {
                    *a ^= b;
                }
                iv
            });
            let pt = m.decrypt(k, base_iv.as_deref(), &ext, None)?;
            check(pt == plaintext, "plaintext")?;
            // Erratum in chacha-poly-enc-01: its AAD_hex spells the context "Encrypt1"; the
            // ciphertext itself was computed with "Encrypt0" (it decrypts above).
            let aad_erratum = path.ends_with("chacha-poly-enc-01.json");
            if let Some(aad) = inter.get("AAD_hex").filter(|_| !aad_erratum) {
                let mut mine = Vec::new();
                enc_structure(
                    &mut mine,
                    EncContext::Encrypt0,
                    m.protected.authenticated(),
                    &ext,
                )
                .unwrap();
                check(mine == hexs(aad), "AAD_hex")?;
            }
            if altered {
                return Ok(false);
            }
            let b = Encrypt0Builder {
                protected: m.protected.header,
                unprotected: m.unprotected,
                tagged: m.tagged,
            };
            let again = b.seal_to_vec(k, base_iv.as_deref(), &pt, &ext)?;
            check(again == cbor, "re-sealed bytes differ")?;
            Ok(true)
        })()
    } else if let Some(sec) = input.get("mac0") {
        (|| -> Result<bool, Failure> {
            let ext = external(sec);
            let jwk = Jwk::from_json(&sec["recipients"][0]["key"]);
            let key = jwk.key();
            let k = key.symmetric_key()?;
            let m = Mac0::decode(&cbor)?;
            let payload = m.verify(k, &ext, None)?;
            check(payload == plaintext, "payload")?;
            if altered {
                return Ok(false);
            }
            let b = Mac0Builder {
                protected: m.protected.header,
                unprotected: m.unprotected,
                tagged: m.tagged,
                detached: false,
            };
            check(
                b.seal_to_vec(k, payload, &ext)? == cbor,
                "re-sealed bytes differ",
            )?;
            Ok(true)
        })()
    } else if let Some(sec) = input.get("sign0") {
        (|| -> Result<bool, Failure> {
            let ext = external(sec);
            let jwk = Jwk::from_json(&sec["key"]);
            let key = jwk.key();
            let m = Sign1::decode(&cbor)?;
            let alg = m.algorithm()?;
            check(
                alg == sig_alg(sec["alg"].as_str().unwrap_or("")) || fail,
                "alg",
            )?;
            let vk = key.verifying_key(alg)?;
            let payload = m.verify(&vk, &ext, None)?;
            check(payload == plaintext, "payload")?;
            if let Some(tbs) = inter.get("ToBeSign_hex") {
                let mut mine = Vec::new();
                sig_structure(&mut mine, m.protected.authenticated(), None, &ext, payload).unwrap();
                check(mine == hexs(tbs), "ToBeSign_hex")?;
            }
            if altered || alg != SignatureAlgorithm::EdDsa {
                return Ok(false);
            }
            let sk = key.signing_key(alg)?;
            let b = Sign1Builder {
                protected: m.protected.header,
                unprotected: m.unprotected,
                tagged: m.tagged,
                detached: false,
            };
            check(
                b.sign_to_vec(&sk, payload, &ext)? == cbor,
                "re-signed bytes differ",
            )?;
            Ok(true)
        })()
    } else if let Some(sec) = input.get("enveloped") {
        (|| -> Result<bool, Failure> {
            let ext = external(sec);
            let r0 = &sec["recipients"][0];
            let jwk = Jwk::from_json(&r0["key"]);
            let sender = r0.get("sender_key").map(Jwk::from_json);
            let key = jwk.key();
            let sender_key = sender.as_ref().map(Jwk::key);
            let m = Encrypt::decode(&cbor)?;
            let alg = m.algorithm()?;
            let unsent = Unsent::from_json(r0);
            let cek = match &unsent {
                None => m.content_key(&key, sender_key.as_ref()),
                Some(u) => {
                    let ctx = u.context(&m.recipients[0], alg.id(), alg.key_len());
                    m.recipients[0].content_key_with_context(
                        &key,
                        alg.id(),
                        alg.key_len(),
                        sender_key.as_ref(),
                        Some(ctx),
                    )
                }
            }?;
            if let Some(c) = inter.get("CEK_hex") {
                check(cek.as_slice() == hexs(c).as_slice(), "CEK_hex")?;
            }
            if let Some(ctx) = inter
                .get("recipients")
                .and_then(|r| r[0].get("Context_hex"))
            {
                let mine = match &unsent {
                    None => m.recipients[0]
                        .kdf_context(alg.id(), alg.key_len())
                        .to_vec(),
                    Some(u) => u
                        .context(&m.recipients[0], alg.id(), alg.key_len())
                        .to_vec(),
                };
                check(mine == hexs(ctx), "Context_hex")?;
            }
            let base_iv = sec.get("unsent").and_then(|u| u.get("IV_hex")).map(|iv| {
                let mut iv = hexs(iv);
                let piv = m.unprotected.partial_iv.unwrap_or(&[]);
                let off = iv.len() - piv.len();
                for (a, b) in iv[off..].iter_mut().zip(piv) {
                    *a ^= b;
                }
                iv
            });
            let pt = m.decrypt_with_cek(&cek, base_iv.as_deref(), &ext, None)?;
            check(pt == plaintext, "plaintext")?;
            if let Some(aad) = inter.get("AAD_hex") {
                let mut mine = Vec::new();
                enc_structure(
                    &mut mine,
                    EncContext::Encrypt,
                    m.protected.authenticated(),
                    &ext,
                )
                .unwrap();
                check(mine == hexs(aad), "AAD_hex")?;
            }
            if altered {
                return Ok(false);
            }
            let raws: Vec<&[u8]> = m.recipients.iter().map(|r| r.raw).collect();
            let b = EncryptBuilder {
                protected: m.protected.header,
                unprotected: m.unprotected,
                tagged: m.tagged,
            };
            check(
                b.seal(&cek, base_iv.as_deref(), &pt, &ext, &raws)? == cbor,
                "re-sealed bytes differ",
            )?;
            Ok(true)
        })()
    } else if let Some(sec) = input.get("mac") {
        (|| -> Result<bool, Failure> {
            let ext = external(sec);
            let r0 = &sec["recipients"][0];
            let jwk = Jwk::from_json(&r0["key"]);
            let sender = r0.get("sender_key").map(Jwk::from_json);
            let key = jwk.key();
            let sender_key = sender.as_ref().map(Jwk::key);
            let m = Mac::decode(&cbor)?;
            let alg = m.algorithm()?;
            let unsent = Unsent::from_json(r0);
            let cek = match &unsent {
                None => m.content_key(&key, sender_key.as_ref()),
                Some(u) => {
                    let ctx = u.context(&m.recipients[0], alg.id(), alg.key_len());
                    m.recipients[0].content_key_with_context(
                        &key,
                        alg.id(),
                        alg.key_len(),
                        sender_key.as_ref(),
                        Some(ctx),
                    )
                }
            }?;
            if let Some(c) = inter.get("CEK_hex") {
                check(cek.as_slice() == hexs(c).as_slice(), "CEK_hex")?;
            }
            if let Some(ctx) = inter
                .get("recipients")
                .and_then(|r| r[0].get("Context_hex"))
            {
                let mine = match &unsent {
                    None => m.recipients[0]
                        .kdf_context(alg.id(), alg.key_len())
                        .to_vec(),
                    Some(u) => u
                        .context(&m.recipients[0], alg.id(), alg.key_len())
                        .to_vec(),
                };
                check(mine == hexs(ctx), "Context_hex")?;
            }
            let payload = m.verify_with_cek(&cek, &ext, None)?;
            check(payload == plaintext, "payload")?;
            if altered {
                return Ok(false);
            }
            let raws: Vec<&[u8]> = m.recipients.iter().map(|r| r.raw).collect();
            let b = MacBuilder {
                protected: m.protected.header,
                unprotected: m.unprotected,
                tagged: m.tagged,
            };
            check(
                b.seal(&cek, payload, &ext, &raws)? == cbor,
                "re-sealed bytes differ",
            )?;
            Ok(true)
        })()
    } else if let Some(sec) = input.get("sign") {
        (|| -> Result<bool, Failure> {
            let ext = external(sec);
            // RFC 8152 C.1.4 marks the application-defined label "reserved" critical.
            let m = Sign::decode_understanding(&cbor, &[Label::Text("reserved")])?;
            let signers = sec["signers"].as_array().unwrap();
            for s in signers {
                let jwk = Jwk::from_json(&s["key"]);
                let key = jwk.key();
                let alg = sig_alg(
                    s["protected"]["alg"]
                        .as_str()
                        .or(s["unprotected"]["alg"].as_str())
                        .unwrap_or(""),
                );
                let vk = key.verifying_key(alg)?;
                let payload = m.verify(&vk, None, &ext, None)?;
                check(payload == plaintext, "payload")?;
            }
            if let Some(list) = inter.get("signers").and_then(Value::as_array) {
                for (i, s) in list.iter().enumerate() {
                    if let Some(tbs) = s.get("ToBeSign_hex") {
                        let mut mine = Vec::new();
                        sig_structure(
                            &mut mine,
                            m.protected.authenticated(),
                            Some(m.signatures[i].protected.authenticated()),
                            &ext,
                            m.payload.unwrap_or(&[]),
                        )
                        .unwrap();
                        check(mine == hexs(tbs), "ToBeSign_hex")?;
                    }
                }
            }
            // EdDSA is deterministic: re-sign with the same headers and compare.
            let all_eddsa = m
                .signatures
                .iter()
                .all(|s| s.protected.header.alg_id() == Some(-8));
            if altered || !all_eddsa {
                return Ok(false);
            }
            let jwks: Vec<Jwk> = signers.iter().map(|s| Jwk::from_json(&s["key"])).collect();
            let keys: Vec<_> = jwks
                .iter()
                .map(|j| j.key().signing_key(SignatureAlgorithm::EdDsa).unwrap())
                .collect();
            let list: Vec<_> = keys
                .iter()
                .zip(&m.signatures)
                .map(|(k, s)| (k, s.protected.header, s.unprotected))
                .collect();
            let b = SignBuilder {
                protected: m.protected.header,
                unprotected: m.unprotected,
                tagged: m.tagged,
            };
            check(
                b.sign(&list, m.payload.unwrap_or(&[]), &ext)? == cbor,
                "re-signed bytes differ",
            )?;
            Ok(true)
        })()
    } else {
        panic!("{}: unknown example type", path.display());
    };

    match (expected_failure, verified) {
        (None, Ok(byte_exact)) => Ok(Outcome::Pass { byte_exact }),
        (None, Err(e)) => Err(e.to_string()),
        (Some(_), Ok(_)) => Err("failure example was accepted".into()),
        (Some(want), Err(Failure::Cose(e))) if class_of(&e) == Some(want) => {
            Ok(Outcome::Pass { byte_exact: false })
        }
        (Some(want), Err(e)) => Err(format!("expected a {want:?} error, got: {e}")),
    }
}

#[test]
// The corpus covers every AEAD (AES-GCM and ChaCha20/Poly1305 examples included), so the counts
// below hold for a build with all of them.
#[cfg_attr(
    not(all(feature = "aes-gcm", feature = "chacha20")),
    ignore = "needs the features aes-gcm and chacha20"
)]
fn cose_wg_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cose-wg");
    // directory -> [examples, run, passed, skipped, byte-exact]
    let mut folders: BTreeMap<String, [usize; 5]> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut skips_seen = Vec::new();
    let mut fails_seen = Vec::new();
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "json"))
        {
            let file = f.file_name().unwrap().to_string_lossy().to_string();
            let entry = folders.entry(name.clone()).or_default();
            entry[0] += 1;
            if SKIPPED.iter().any(|(d, n, _)| *d == name && *n == file) {
                skips_seen.push((name.clone(), file));
                entry[3] += 1;
                continue;
            }
            let expected_failure = EXPECTED_FAILURES
                .iter()
                .find(|(d, n, _, _)| *d == name && *n == file)
                .map(|(_, _, _, class)| *class);
            if expected_failure.is_some() {
                fails_seen.push((name.clone(), file));
            }
            entry[1] += 1;
            match run(&f, expected_failure) {
                Ok(Outcome::Pass { byte_exact }) => {
                    entry[2] += 1;
                    if byte_exact {
                        entry[4] += 1;
                    }
                }
                Err(e) => failures.push(format!("{}: {e}", f.display())),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n")
    );
    // Every listed skip and expected failure names an example that exists.
    for (d, n, why) in SKIPPED {
        assert!(
            skips_seen.iter().any(|(sd, sn)| sd == d && sn == n),
            "skip entry {d}/{n} ({why}) names no example"
        );
    }
    for (d, n, directive, _) in EXPECTED_FAILURES {
        assert!(
            fails_seen.iter().any(|(sd, sn)| sd == d && sn == n),
            "failure entry {d}/{n} ({directive}) names no example"
        );
    }
    let got: Vec<(&str, [usize; 5])> = folders.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        got, EXPECTED_COUNTS,
        "per-directory [examples, run, passed, skipped, byte-exact]"
    );
}
