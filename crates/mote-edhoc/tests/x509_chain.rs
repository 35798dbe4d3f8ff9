//! X.509 chain validation (`TrustAnchor`): RFC 9529 Trace 1's certificates, and chains made by
//! the `openssl` command (`tests/data/x509/make.sh`, which lists what each certificate is).
#![cfg(feature = "std")] // the tests build MoteCrypto from the OS random source
#![cfg(feature = "x509")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::Vectors;
use core::time::Duration;
use mote_edhoc::*;
use x509_cert::Certificate;
use x509_cert::der::asn1::BitString;
use x509_cert::der::{Decode, Encode};

/// The common root of RFC 9529 §2.8.3 is printed only as text; its DER is not in the RFC. This
/// stand-in has what validation uses: the name the leaves were issued by and the root's public
/// key `2b7b3e80…3be4` (both from the RFC). The leaves' Ed25519 signatures are the RFC's.
fn root_stand_in(leaf_der: &[u8]) -> Vec<u8> {
    let mut root = Certificate::from_der(leaf_der).unwrap();
    root.tbs_certificate.subject = root.tbs_certificate.issuer.clone();
    let key =
        hex::decode("2b7b3e8057c8642944d06afe7a71d1c9bf961b6292bac4b04f91669bbb713be4").unwrap();
    root.tbs_certificate
        .subject_public_key_info
        .subject_public_key = BitString::from_bytes(&key).unwrap();
    root.to_der().unwrap()
}

#[test]
fn trace_1_leaves_chain_to_the_common_root() {
    let v = Vectors::load("rfc9529_trace1.txt");
    let (cert_i, cert_r) = (v.get("CRED_I.raw"), v.get("CRED_R.raw"));
    let anchor = TrustAnchor::new(&root_stand_in(cert_r), ValidationTime::Unchecked).unwrap();
    let mut c = MoteCrypto::new();
    anchor.validate(&[cert_r], &mut c).unwrap();
    anchor.validate(&[cert_i], &mut c).unwrap();
    // Validity (RFC 9529 §2.8: 2022-03-16 to 2029-12-31).
    let at = |t: u64| {
        TrustAnchor::new(
            &root_stand_in(cert_r),
            ValidationTime::At(Duration::from_secs(t)),
        )
        .unwrap()
    };
    at(1_700_000_000).validate(&[cert_r], &mut c).unwrap();
    assert_eq!(
        at(1_600_000_000).validate(&[cert_r], &mut c),
        Err(Error::Certificate(CertificateError::NotYetValid {
            index: 0
        }))
    );
    assert_eq!(
        at(1_900_000_000).validate(&[cert_r], &mut c),
        Err(Error::Certificate(CertificateError::Expired { index: 0 }))
    );
    // A tampered leaf, a leaf as its own anchor (wrong issuer name), an empty chain.
    let mut bad = cert_r.to_vec();
    let n = bad.len();
    bad[n - 5] ^= 1;
    assert_eq!(
        anchor.validate(&[&bad], &mut c),
        Err(Error::Certificate(CertificateError::BadSignature {
            index: 0
        }))
    );
    assert_eq!(
        TrustAnchor::new(cert_i, ValidationTime::Unchecked)
            .unwrap()
            .validate(&[cert_r], &mut c),
        Err(Error::Certificate(CertificateError::IssuerMismatch {
            index: 0
        }))
    );
    assert_eq!(
        anchor.validate(&[], &mut c),
        Err(Error::Certificate(CertificateError::EmptyChain))
    );
    // x5chain by value carries the same credential as x5t by reference.
    let cred = Credential::x509(cert_r, &mut c).unwrap();
    let by_value = cred.id_cred_by_value().unwrap();
    assert_eq!(
        Credential::from_id_cred(&by_value, &mut c)
            .unwrap()
            .unwrap(),
        cred
    );
    assert!(cred.matches(&by_value));
    assert!(cred.matches(&IdCred::from_map(v.get("ID_CRED_R.cbor")).unwrap()));
}

/// The certificates of `tests/data/x509/`, made by `make.sh` there with `openssl ca`.
mod pki {
    pub(super) const ROOT: &[u8] = include_bytes!("data/x509/root.der");
    pub(super) const INTER: &[u8] = include_bytes!("data/x509/inter.der");
    pub(super) const INTER2: &[u8] = include_bytes!("data/x509/inter2.der");
    pub(super) const INTER_NOT_CA: &[u8] = include_bytes!("data/x509/inter_not_ca.der");
    pub(super) const INTER_NO_CERTSIGN: &[u8] = include_bytes!("data/x509/inter_no_certsign.der");
    pub(super) const LEAF_ROOT: &[u8] = include_bytes!("data/x509/leaf_root.der");
    pub(super) const LEAF_INTER: &[u8] = include_bytes!("data/x509/leaf_inter.der");
    pub(super) const LEAF_INTER2: &[u8] = include_bytes!("data/x509/leaf_inter2.der");
    pub(super) const LEAF_KA: &[u8] = include_bytes!("data/x509/leaf_ka.der");
    pub(super) const LEAF_EXPIRED: &[u8] = include_bytes!("data/x509/leaf_expired.der");
    pub(super) const LEAF_FUTURE: &[u8] = include_bytes!("data/x509/leaf_future.der");
    pub(super) const LEAF_FORGED: &[u8] = include_bytes!("data/x509/leaf_forged.der");
}

/// 2025-06-01T00:00:00Z: inside every period of make.sh but leaf_expired's (2021..2022) and
/// leaf_future's (2030..2035).
const JUNE_2025: Duration = Duration::from_secs(1_748_736_000);

fn anchor_at(t: Duration) -> TrustAnchor {
    TrustAnchor::new(pki::ROOT, ValidationTime::At(t)).unwrap()
}

fn check(chain: &[&[u8]], key_use: LeafKeyUse) -> Result<(), CertificateError> {
    anchor_at(JUNE_2025).validate_chain(chain, key_use, &mut MoteCrypto::new())
}

#[test]
fn two_and_three_level_chains_are_trusted() {
    // leaf -> anchor
    assert_eq!(check(&[pki::LEAF_ROOT], LeafKeyUse::Signature), Ok(()));
    // leaf -> intermediate (cA, pathLen 0, keyCertSign) -> anchor
    assert_eq!(
        check(&[pki::LEAF_INTER, pki::INTER], LeafKeyUse::Signature),
        Ok(())
    );
    // The same chain with the anchor appended (RFC 9360 §2 lets a sender include it).
    assert_eq!(
        check(
            &[pki::LEAF_INTER, pki::INTER, pki::ROOT],
            LeafKeyUse::Either
        ),
        Ok(())
    );
    // Through the `TrustAnchors` trait, as `mote` calls it.
    anchor_at(JUNE_2025)
        .validate(&[pki::LEAF_INTER, pki::INTER], &mut MoteCrypto::new())
        .unwrap();
    // The certificate DER is what EDHOC carries: the leaf's key becomes the credential.
    let cred = Credential::x509(pki::LEAF_INTER, &mut MoteCrypto::new()).unwrap();
    assert_eq!(cred.kind(), CredentialKind::X509);
}

#[test]
fn a_non_ca_intermediate_is_rejected() {
    // inter_not_ca: inter's name and key, signed by root, basicConstraints cA FALSE. The leaf's
    // signature by that key verifies; only the CA flag is wrong.
    assert_eq!(
        check(&[pki::LEAF_INTER, pki::INTER_NOT_CA], LeafKeyUse::Signature),
        Err(CertificateError::NotCa { index: 1 })
    );
}

#[test]
fn an_issuer_without_key_cert_sign_is_rejected() {
    assert_eq!(
        check(
            &[pki::LEAF_INTER, pki::INTER_NO_CERTSIGN],
            LeafKeyUse::Signature
        ),
        Err(CertificateError::NoKeyCertSign { index: 1 })
    );
}

#[test]
fn validity_is_checked_at_the_given_time() {
    assert_eq!(
        check(&[pki::LEAF_EXPIRED], LeafKeyUse::Signature),
        Err(CertificateError::Expired { index: 0 })
    );
    assert_eq!(
        check(&[pki::LEAF_FUTURE], LeafKeyUse::Signature),
        Err(CertificateError::NotYetValid { index: 0 })
    );
    // The same certificates inside their own periods, and the valid leaf outside its own:
    // the time decides, nothing else.
    let c = &mut MoteCrypto::new();
    let (y2021_6, y2031) = (
        Duration::from_secs(1_622_505_600), // 2021-06-01
        Duration::from_secs(1_924_992_000), // 2031-01-01
    );
    assert_eq!(
        anchor_at(y2021_6).validate_chain(&[pki::LEAF_EXPIRED], LeafKeyUse::Signature, c),
        Ok(())
    );
    assert_eq!(
        anchor_at(y2031).validate_chain(&[pki::LEAF_FUTURE], LeafKeyUse::Signature, c),
        Ok(())
    );
    // 2049-12-31T12:00:00Z: after the leaf's notAfter (00:00:00), before the root's (23:59:59).
    let leaf_over = Duration::from_secs(2_524_564_800);
    assert_eq!(
        anchor_at(leaf_over).validate_chain(&[pki::LEAF_ROOT], LeafKeyUse::Signature, c),
        Err(CertificateError::Expired { index: 0 })
    );
    assert_eq!(
        anchor_at(leaf_over).validate_chain(&[pki::LEAF_EXPIRED], LeafKeyUse::Signature, c),
        Err(CertificateError::Expired { index: 0 })
    );
    // notAfter itself is inside the period (RFC 5280 §4.1.2.5); one second later is not.
    let not_after = Duration::from_secs(1_640_995_200); // leaf_expired: 2022-01-01T00:00:00Z
    assert_eq!(
        anchor_at(not_after).validate_chain(&[pki::LEAF_EXPIRED], LeafKeyUse::Signature, c),
        Ok(())
    );
    assert_eq!(
        anchor_at(not_after + Duration::from_secs(1)).validate_chain(
            &[pki::LEAF_EXPIRED],
            LeafKeyUse::Signature,
            c
        ),
        Err(CertificateError::Expired { index: 0 })
    );
    // No time: an explicit choice, and then the period is not checked.
    let unchecked = TrustAnchor::new(pki::ROOT, ValidationTime::Unchecked).unwrap();
    assert_eq!(
        unchecked.validate_chain(&[pki::LEAF_EXPIRED], LeafKeyUse::Signature, c),
        Ok(())
    );
    // The caller's clock, read at validation.
    let clock = TrustAnchor::new(pki::ROOT, ValidationTime::Clock(|| JUNE_2025)).unwrap();
    assert_eq!(
        clock.validate_chain(&[pki::LEAF_FUTURE], LeafKeyUse::Signature, c),
        Err(CertificateError::NotYetValid { index: 0 })
    );
}

#[test]
fn a_wrong_issuer_signature_is_rejected() {
    // leaf_forged names the root as issuer but was signed by an impostor key.
    assert_eq!(
        check(&[pki::LEAF_FORGED], LeafKeyUse::Signature),
        Err(CertificateError::BadSignature { index: 0 })
    );
    // An intermediate presented under the wrong issuer name.
    assert_eq!(
        check(&[pki::LEAF_INTER2, pki::INTER], LeafKeyUse::Signature),
        Err(CertificateError::IssuerMismatch { index: 0 })
    );
}

#[test]
fn a_path_length_violation_is_rejected() {
    // inter has pathLenConstraint 0; inter2 below it is one intermediate too many.
    assert_eq!(
        check(
            &[pki::LEAF_INTER2, pki::INTER2, pki::INTER],
            LeafKeyUse::Signature
        ),
        Err(CertificateError::PathLenExceeded {
            index: 2,
            limit: 0,
            found: 1
        })
    );
}

#[test]
fn the_leaf_key_usage_must_fit_the_method() {
    // leaf_ka allows keyAgreement only: fine for static DH, not for signatures.
    assert_eq!(check(&[pki::LEAF_KA], LeafKeyUse::KeyAgreement), Ok(()));
    assert_eq!(check(&[pki::LEAF_KA], LeafKeyUse::Either), Ok(()));
    assert_eq!(
        check(&[pki::LEAF_KA], LeafKeyUse::Signature),
        Err(CertificateError::LeafKeyUsage(LeafKeyUse::Signature))
    );
    // leaf_root allows digitalSignature only.
    assert_eq!(
        check(&[pki::LEAF_ROOT], LeafKeyUse::KeyAgreement),
        Err(CertificateError::LeafKeyUsage(LeafKeyUse::KeyAgreement))
    );
    // RFC 9528 §3.2: in method 1 the Initiator signs and the Responder uses static DH.
    assert_eq!(
        LeafKeyUse::for_method(Method::SignStatic, true),
        LeafKeyUse::Signature
    );
    assert_eq!(
        LeafKeyUse::for_method(Method::SignStatic, false),
        LeafKeyUse::KeyAgreement
    );
    let via_trait = anchor_at(JUNE_2025).validate_for(
        &[pki::LEAF_KA],
        LeafKeyUse::for_method(Method::SignSign, false),
        &mut MoteCrypto::new(),
    );
    assert_eq!(
        via_trait,
        Err(Error::Certificate(CertificateError::LeafKeyUsage(
            LeafKeyUse::Signature
        )))
    );
}

#[test]
fn malformed_chains_are_rejected_with_their_position() {
    let mut cut = pki::INTER.to_vec();
    cut.truncate(cut.len() - 10);
    assert_eq!(
        check(&[pki::LEAF_INTER, &cut], LeafKeyUse::Signature),
        Err(CertificateError::Malformed { index: 1 })
    );
}
