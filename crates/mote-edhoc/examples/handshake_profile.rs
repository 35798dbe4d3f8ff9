//! Runs method 0 / suite 0 handshakes and, separately, the same handshake's elliptic-curve
//! operations, for an instruction-count profile that machine load cannot disturb:
//!
//! ```text
//! cargo build --release -p mote-edhoc --example handshake_profile
//! valgrind --tool=callgrind target/release/examples/handshake_profile
//! callgrind_annotate --inclusive=yes callgrind.out.* | grep -E 'handshake_profile::(handshake|ec_ops)'
//! ```
//!
//! The ratio of the two functions' inclusive instruction counts is the handshake's overhead over
//! its own EC operations (docs/performance.md, mote-edhoc section).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use mote_cose::algorithm::{
    EcdhCurve, EcdhSecret, SignatureAlgorithm as CoseSig, SigningKey, VerifyingKey,
};
use mote_edhoc::*;

fn identity(kid: u8, sk: [u8; 32]) -> Identity {
    let mut c = MoteCrypto::new();
    let secret = Secret::from_slice(&sk).unwrap();
    let pk = c
        .signature_public_key(SignatureAlgorithm::EdDsa, &secret)
        .unwrap();
    let cred = Credential::ccs_from_public_key("profile", &[kid], KeyType::Ed25519, &pk).unwrap();
    Identity::by_reference(cred, &sk).unwrap()
}

/// One endpoint as an application sets it up once: its identity and a provider prepared for
/// it (the Ed25519 public key decoded once), cloned for every handshake.
type Party = (Identity, MoteCrypto<rand_core::OsRng>);

#[inline(never)]
fn handshake((id_i, p_i): &Party, (id_r, p_r): &Party) -> [u8; 16] {
    let (cred_i, cred_r) = (&id_i.credential, &id_r.credential);
    let i = Initiator::new(
        p_i.clone(),
        InitiatorConfig::new(Method::SignSign, 0, id_i.clone()),
    );
    let (i, m1) = i
        .prepare_message_1(ConnId::from_int(-24).unwrap(), &Ead::new())
        .unwrap();
    let r = Responder::new(p_r.clone(), ResponderConfig::new(0, id_r.clone()));
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

/// What the handshake must compute on the same crypto: two X25519 key generations and two
/// DH, two Ed25519 signatures (from a constructed key) and two verifications (key decoding
/// included), as in benches/benches/edhoc.rs.
#[inline(never)]
fn ec_ops(ka: &SigningKey, kb: &SigningKey) {
    let mut rng = rand_core::OsRng;
    let ex = EcdhSecret::generate(EcdhCurve::X25519, &mut rng);
    let ey = EcdhSecret::generate(EcdhCurve::X25519, &mut rng);
    let (gx, gy) = (ex.public_key(), ey.public_key());
    black_box(ey.diffie_hellman(&gx).unwrap());
    black_box(ex.diffie_hellman(&gy).unwrap());
    // The length of the handshake's own Sig_structures (M_2, M_3) with these CCS credentials.
    let msg = [0u8; 143];
    for k in [ka, kb] {
        let mut sig = [0u8; 64];
        k.sign(&msg, &mut sig).unwrap();
        let vk = VerifyingKey::ed25519(k.verifying_key().coordinates().x()).unwrap();
        vk.verify(black_box(&msg), &sig).unwrap();
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let party = |id: Identity| {
        let p = MoteCrypto::new().prepare(&id).unwrap();
        (id, p)
    };
    let (id_i, id_r) = (
        party(identity(0x2b, [0x11; 32])),
        party(identity(0x32, [0x22; 32])),
    );
    let ka = SigningKey::from_bytes(CoseSig::EdDsa, &[0x11; 32]).unwrap();
    let kb = SigningKey::from_bytes(CoseSig::EdDsa, &[0x22; 32]).unwrap();
    for _ in 0..n {
        black_box(handshake(&id_i, &id_r));
        ec_ops(&ka, &kb);
    }
}
