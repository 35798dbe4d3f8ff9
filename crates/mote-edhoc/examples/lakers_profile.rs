//! Method 3 / suite 2 handshakes (both roles, message_4 and an exporter call included) on
//! Mote and on lakers 0.8 with `lakers-crypto-rustcrypto`, alternating, with RFC 9529 Trace 2's
//! credentials: the instruction-count side of "not slower than lakers", which machine load
//! cannot disturb (docs/performance.md, mote-edhoc):
//!
//! ```text
//! cargo build --release -p mote-edhoc --example lakers_profile
//! valgrind --tool=callgrind target/release/examples/lakers_profile
//! callgrind_annotate --inclusive=yes callgrind.out.* | grep -E 'lakers_profile::(mote|lakers)'
//! ```
//!
//! Both sides use the same P-256 (`p256` 0.13), SHA-256 and AES-CCM crates, so the difference
//! is the protocol code around them.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use lakers::{
    Credential as LCredential, CredentialTransfer, EDHOCMethod, EDHOCSuite, EdhocInitiator,
    EdhocMessageBuffer, EdhocResponder, credential_check_or_fetch,
};
use mote_edhoc::*;

const CRED_I: &str = "a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb62258206e5de611388a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8";
const CRED_R: &str = "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072";
const SK_I: &str = "fb13adeb6518cee5f88417660841142e830a81fe334380a953406a1305e8706b";
const SK_R: &str = "72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac";

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// Both roles on Mote, from parsed credentials; returns the 16-byte exporter output.
#[inline(never)]
fn mote(id_i: &Identity, id_r: &Identity) -> [u8; 16] {
    let (cred_i, cred_r) = (&id_i.credential, &id_r.credential);
    let i = Initiator::new(
        MoteCrypto::new(),
        InitiatorConfig::new(Method::StaticStatic, 2, id_i.clone()),
    );
    let (i, m1) = i
        .prepare_message_1(ConnId::from_int(-24).unwrap(), &Ead::new())
        .unwrap();
    let r = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r.clone()));
    let r = r.process_message_1(m1.as_slice()).unwrap();
    let (r, m2) = r
        .prepare_message_2(ConnId::from_int(-8).unwrap(), &Ead::new())
        .unwrap();
    let i = i
        .parse_message_2(m2.as_slice())
        .unwrap()
        .verify_message_2(cred_r)
        .unwrap();
    let (i, m3) = i.prepare_message_3(&Ead::new()).unwrap();
    let r = r
        .parse_message_3(m3.as_slice())
        .unwrap()
        .verify_message_3(cred_i)
        .unwrap();
    let (mut rs, m4) = r.prepare_message_4(&Ead::new()).unwrap();
    let (mut is, _) = i.process_message_4(m4.as_slice()).unwrap();
    let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
    rs.exporter(0, &[], &mut a).unwrap();
    is.exporter(0, &[], &mut b).unwrap();
    assert_eq!(a, b);
    a
}

/// Both roles on lakers, from parsed credentials; returns the 16-byte exporter output.
#[inline(never)]
fn lakers(cred_i: LCredential, cred_r: LCredential, sk_i: [u8; 32], sk_r: [u8; 32]) -> [u8; 16] {
    let buf = |b: &[u8]| EdhocMessageBuffer::new_from_slice(b).unwrap();
    let crypto = || lakers_crypto_rustcrypto::Crypto::new(rand_core::OsRng);
    let i = EdhocInitiator::new(crypto(), EDHOCMethod::StatStat, EDHOCSuite::CipherSuite2);
    let r = EdhocResponder::new(crypto(), EDHOCMethod::StatStat, sk_r, cred_r);
    let (i, m1) = i.prepare_message_1(None, &None).unwrap();
    let (r, _, _) = r.process_message_1(&m1).unwrap();
    let (r, m2) = r
        .prepare_message_2(CredentialTransfer::ByReference, None, &None)
        .unwrap();
    let (mut i, _, id_cred_r, _) = i.parse_message_2(&m2).unwrap();
    i.set_identity(sk_i, cred_i).unwrap();
    let i = i
        .verify_message_2(credential_check_or_fetch(Some(cred_r), id_cred_r).unwrap())
        .unwrap();
    let (i, m3, _) = i
        .prepare_message_3(CredentialTransfer::ByReference, &None)
        .unwrap();
    let (r, id_cred_i, _) = r.parse_message_3(&buf(m3.as_slice())).unwrap();
    let (r, _) = r
        .verify_message_3(credential_check_or_fetch(Some(cred_i), id_cred_i).unwrap())
        .unwrap();
    let (mut r, m4) = r.prepare_message_4(&None).unwrap();
    let (mut i, _) = i.process_message_4(&m4).unwrap();
    let a: [u8; 16] = r.edhoc_exporter(0, &[], 16)[..16].try_into().unwrap();
    let b: [u8; 16] = i.edhoc_exporter(0, &[], 16)[..16].try_into().unwrap();
    assert_eq!(a, b);
    a
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let id_i = Identity::by_reference(Credential::ccs(&h(CRED_I)).unwrap(), &h(SK_I)).unwrap();
    let id_r = Identity::by_reference(Credential::ccs(&h(CRED_R)).unwrap(), &h(SK_R)).unwrap();
    let (lc_i, lc_r) = (
        LCredential::parse_ccs(&h(CRED_I)).unwrap(),
        LCredential::parse_ccs(&h(CRED_R)).unwrap(),
    );
    let sk_i: [u8; 32] = h(SK_I).try_into().unwrap();
    let sk_r: [u8; 32] = h(SK_R).try_into().unwrap();
    for _ in 0..n {
        black_box(mote(&id_i, &id_r));
        black_box(lakers(lc_i, lc_r, sk_i, sk_r));
    }
}
