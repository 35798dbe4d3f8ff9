//! `MoteCrypto`'s shortcuts give the answers of the plain paths: the credential's P-256 y for
//! static DH (with off-curve points still refused), the reuse of a decompressed peer point, and
//! a provider prepared for an Ed25519 identity. Expected values are RFC 9529's (Traces 1 and 2,
//! tests/data).
#![cfg(feature = "std")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{Vectors, eq};
use mote_edhoc::*;

fn secret(b: &[u8]) -> Secret {
    Secret::from_slice(b).unwrap()
}

fn arr(b: &[u8]) -> [u8; 32] {
    b.try_into().unwrap()
}

/// The P-256 field prime p (SEC 2 §2.4.2), big-endian.
const P: &str = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";

/// p − y: the other point with the same x.
fn negate(y: &[u8; 32]) -> [u8; 32] {
    let p = hex::decode(P).unwrap();
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(p[i]) - i16::from(y[i]) - borrow;
        borrow = i16::from(d < 0);
        out[i] = (d + 256 * borrow) as u8;
    }
    out
}

#[test]
fn static_dh_with_the_credentials_y_matches_x_only_and_refuses_off_curve_points() {
    let v = Vectors::load("rfc9529_trace2.txt");
    let y_eph = secret(v.get("Y.raw"));
    let x = arr(v.get("PK_I_x.raw"));
    let y = arr(v.get("PK_I_y.raw"));
    let mut c = MoteCrypto::new();
    for (name, pk) in [
        ("with y", PublicKey { x, y: Some(y) }),
        (
            "with p - y",
            PublicKey {
                x,
                y: Some(negate(&y)),
            },
        ),
        ("x only", PublicKey { x, y: None }),
    ] {
        let g_iy = c.ecdh_static(Curve::P256, &y_eph, &pk).unwrap();
        eq(name, g_iy.as_bytes(), v.get("G_IY.raw"));
    }
    let mut off = y;
    off[31] ^= 1;
    assert_eq!(
        c.ecdh_static(Curve::P256, &y_eph, &PublicKey { x, y: Some(off) }),
        Err(Error::InvalidPublicKey)
    );
    // (0, 0): x = 0 is on the curve (with y² = b), y = 0 is not its y.
    let bad = PublicKey {
        x: [0u8; 32],
        y: Some([0u8; 32]),
    };
    assert_eq!(
        c.ecdh_static(Curve::P256, &y_eph, &bad),
        Err(Error::InvalidPublicKey)
    );
}

#[test]
fn a_reused_peer_point_gives_the_same_secrets_as_fresh_providers() {
    let v = Vectors::load("rfc9529_trace2.txt");
    let (x, y) = (secret(v.get("X.raw")), secret(v.get("Y.raw")));
    let (sk_i, sk_r) = (secret(v.get("SK_I.raw")), secret(v.get("SK_R.raw")));
    let (g_x, g_y) = (v.get("G_X.raw"), v.get("G_Y.raw"));
    let mut c = MoteCrypto::new();
    // One provider, in a handshake's order (both roles), with a bad point in between.
    let steps: [(&Secret, &[u8], &str); 5] = [
        (&x, g_y, "G_XY.raw"),
        (&sk_i, g_y, "G_IY.raw"),
        (&y, g_x, "G_XY.raw"),
        (&sk_r, g_x, "G_RX.raw"),
        (&sk_i, g_y, "G_IY.raw"),
    ];
    for (i, (s, peer, want)) in steps.iter().enumerate() {
        let got = c.ecdh(Curve::P256, s, peer).unwrap();
        eq(want, got.as_bytes(), v.get(want));
        let fresh = MoteCrypto::new().ecdh(Curve::P256, s, peer).unwrap();
        assert_eq!(got, fresh, "step {i}");
        // x = 1 is not the x of a P-256 point (1 − 3 + b is a non-residue mod p): refused,
        // and the next step is unaffected.
        let mut not_on_curve = [0u8; 32];
        not_on_curve[31] = 1;
        assert_eq!(
            c.ecdh(Curve::P256, s, &not_on_curve),
            Err(Error::InvalidPublicKey)
        );
    }
}

#[test]
fn a_prepared_provider_signs_as_rfc_9529_trace_1() {
    let v = Vectors::load("rfc9529_trace1.txt");
    let (sk_r, sk_i) = (v.get("SK_R.raw"), v.get("SK_I.raw"));
    let pk_r = PublicKey::from_x(v.get("PK_R.raw")).unwrap();
    let pk_i = PublicKey::from_x(v.get("PK_I.raw")).unwrap();
    let id = |pk: &PublicKey, sk: &[u8]| {
        let cred = Credential::ccs_from_public_key("t", &[1], KeyType::Ed25519, pk).unwrap();
        Identity::by_reference(cred, sk).unwrap()
    };
    let m_2 = v.get("Message_to_be_signed_2.cbor");
    let want = v.get("Signature_or_MAC_2.raw");
    // Prepared for R itself, prepared for another identity, and not prepared.
    for mut c in [
        MoteCrypto::new().prepare(&id(&pk_r, sk_r)).unwrap(),
        MoteCrypto::new().prepare(&id(&pk_i, sk_i)).unwrap(),
        MoteCrypto::new(),
    ] {
        let sig = c
            .sign_with_public_key(SignatureAlgorithm::EdDsa, &secret(sk_r), &pk_r, m_2)
            .unwrap();
        eq("Signature_or_MAC_2", &sig, want);
    }
    // Trace 1's Initiator signature too, from a provider prepared for I.
    let mut c = MoteCrypto::new().prepare(&id(&pk_i, sk_i)).unwrap();
    let sig = c
        .sign_with_public_key(
            SignatureAlgorithm::EdDsa,
            &secret(sk_i),
            &pk_i,
            v.get("Message_to_be_signed_3.cbor"),
        )
        .unwrap();
    eq("Signature_or_MAC_3", &sig, v.get("Signature_or_MAC_3.raw"));
}

#[test]
fn preparing_refuses_an_ed25519_key_that_is_not_a_point() {
    // y = 2 (little-endian, sign bit clear) has no x on edwards25519: x² = (y²−1)/(d·y²+1)
    // is a non-residue (checked against ed25519-dalek, which refuses it as well).
    let mut bad = [0u8; 32];
    bad[0] = 2;
    let pk = PublicKey::from_x(&bad).unwrap();
    let cred = Credential::ccs_from_public_key("t", &[1], KeyType::Ed25519, &pk).unwrap();
    let id = Identity::by_reference(cred, &[7u8; 32]).unwrap();
    assert!(matches!(
        MoteCrypto::new().prepare(&id),
        Err(Error::InvalidCredential(_))
    ));
}

#[test]
fn ccs_for_private_key_rebuilds_rfc_9529_trace_2_credentials() {
    // Trace 2: P-256 static DH keys, CCS {2: subject, 8: {1: COSE_Key with kid, x, y}}.
    let v = Vectors::load("rfc9529_trace2.txt");
    let suite = CipherSuite::from_id(2).unwrap();
    for (subject, kid, sk, want) in [
        ("42-50-31-FF-EF-37-32-39", 0x2b, "SK_I.raw", "CRED_I.cbor"),
        ("example.edu", 0x32, "SK_R.raw", "CRED_R.cbor"),
    ] {
        let cred = Credential::ccs_for_private_key(
            &mut MoteCrypto::new(),
            suite,
            true,
            subject,
            &[kid],
            &secret(v.get(sk)),
        )
        .unwrap();
        eq(want, cred.as_bytes(), v.get(want));
    }
    // Suite 0 picks X25519 for static DH and Ed25519 for signatures (RFC 9528 §3.6).
    let s0 = CipherSuite::from_id(0).unwrap();
    let k = secret(&[9u8; 32]);
    let dh = Credential::ccs_for_private_key(&mut MoteCrypto::new(), s0, true, "a", &[1], &k);
    let sig = Credential::ccs_for_private_key(&mut MoteCrypto::new(), s0, false, "a", &[1], &k);
    assert_eq!(dh.unwrap().key_type(), KeyType::X25519);
    assert_eq!(sig.unwrap().key_type(), KeyType::Ed25519);
}
