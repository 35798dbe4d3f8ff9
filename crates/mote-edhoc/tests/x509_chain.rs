//! X.509 chain validation (`TrustAnchor`) with RFC 9529 Trace 1's certificates.
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
    let anchor = TrustAnchor::new(&root_stand_in(cert_r)).unwrap();
    let mut c = MoteCrypto::new();
    anchor.validate(&[cert_r], &mut c).unwrap();
    anchor.validate(&[cert_i], &mut c).unwrap();
    // Validity (RFC 9529 §2.8: 2022-03-16 to 2029-12-31).
    let at = |t: u64| TrustAnchor::new(&root_stand_in(cert_r)).unwrap().at_time(t);
    at(1_700_000_000).validate(&[cert_r], &mut c).unwrap();
    assert!(at(1_600_000_000).validate(&[cert_r], &mut c).is_err());
    assert!(at(1_900_000_000).validate(&[cert_r], &mut c).is_err());
    // A tampered leaf, a leaf as its own anchor (wrong issuer name), an empty chain.
    let mut bad = cert_r.to_vec();
    let n = bad.len();
    bad[n - 5] ^= 1;
    assert!(anchor.validate(&[&bad], &mut c).is_err());
    assert!(
        TrustAnchor::new(cert_i)
            .unwrap()
            .validate(&[cert_r], &mut c)
            .is_err()
    );
    assert!(anchor.validate(&[], &mut c).is_err());
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
