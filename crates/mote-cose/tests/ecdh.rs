//! ECDH-ES sealing (RFC 9053 §6.3.1) through `multi::ecdh_es_recipient` and opening with the
//! recipient's private key, for P-256 (full and compressed public keys) and X25519; plus the
//! untagged-message classification of `multi::Message`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use mote_cose::algorithm::{EcdhCurve, EcdhSecret, KeyDistribution};
use mote_cose::header::{Header, Label};
use mote_cose::key::{CoseKey, EcY, KeyType, curve};
use mote_cose::multi::{Encrypt, EncryptBuilder, Message, ecdh_es_recipient};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn seal_and_open(curve_id: i64, kty: KeyType, ecdh: EcdhCurve, d: &[u8], compressed: bool) {
    let recipient_secret = EcdhSecret::from_bytes(ecdh, d).unwrap();
    let pk = recipient_secret.public_key();
    let x = pk.x();
    let y = pk.y();
    let y_param = match (y.as_ref(), compressed) {
        (Some(y), false) => Some(EcY::Coordinate(&y[..])),
        (Some(y), true) => Some(EcY::Sign(y[31] & 1 == 1)),
        (None, _) => None,
    };
    let public = CoseKey::curve_key(kty, curve_id, &x, y_param, None);
    let ephemeral = EcdhSecret::from_bytes(ecdh, &[0x42; 32]).unwrap();
    let (recipient, cek) = ecdh_es_recipient(
        KeyDistribution::EcdhEsHkdf256,
        &ephemeral,
        &public,
        Some(b"r1"),
        30,
        16,
    )
    .unwrap();
    // The content algorithm is AES-CCM-16-128-128 (30), which every build has (AES-GCM needs
    // the feature `aes-gcm`).
    let iv = [9u8; 13];
    let msg = EncryptBuilder {
        protected: Header {
            alg: Some(Label::Int(30)),
            ..Header::default()
        },
        unprotected: Header {
            iv: Some(&iv),
            ..Header::default()
        },
        tagged: true,
    }
    .seal(&cek, None, b"secret payload", b"", &[&recipient])
    .unwrap();

    let m = Encrypt::decode(&msg).unwrap();
    let private = CoseKey::curve_key(kty, curve_id, &x, y_param, Some(d));
    assert_eq!(
        m.decrypt(&private, None, b"", None).unwrap(),
        b"secret payload"
    );
    // Another private key derives another content key: opaque failure.
    let other = CoseKey::curve_key(kty, curve_id, &x, y_param, Some(&[0x17; 32]));
    assert!(m.decrypt(&other, None, b"", None).is_err());
}

#[test]
fn ecdh_es_p256_round_trip() {
    // d of the COSE WG example key "meriadoc.brandybuck@buckland.example"
    let d = h("aff907c99f9ad3aae6c4cdf21122bce2bd68b5283e6907154ad911840fa208cf");
    seal_and_open(curve::P256, KeyType::Ec2, EcdhCurve::P256, &d, false);
    seal_and_open(curve::P256, KeyType::Ec2, EcdhCurve::P256, &d, true);
}

#[test]
fn ecdh_es_x25519_round_trip() {
    let d = h("00a943daa2e38b2edbf0da0434eaaec6016fe25dcd5ecacbc07dc30300567655");
    seal_and_open(curve::X25519, KeyType::Okp, EcdhCurve::X25519, &d, false);
}

#[test]
fn x25519_low_order_point_is_rejected() {
    let s = EcdhSecret::from_bytes(EcdhCurve::X25519, &[1; 32]).unwrap();
    let zero = mote_cose::algorithm::EcdhPublicKey::x25519(&[0; 32]).unwrap();
    assert_eq!(
        s.diffie_hellman(&zero).unwrap_err(),
        mote_cose::Error::Crypto
    );
}

#[test]
fn untagged_messages_are_classified() {
    // untagged Mac0 (HMAC 256/256) from mac0-tests/mac-pass-03
    let mac0 = h(
        "8440a1010554546869732069732074686520636f6e74656e742e5820176dce14c1e57430c13658233f41dc89aa4fa0ff9b8783f23b0ef51ca6b026bc",
    );
    assert_eq!(Message::decode(&mac0).unwrap().type_name(), "Mac0");
    // untagged Sign1 (ES256) from sign1-tests/sign-pass-03
    let sign1 = h(
        "8443a10126a10442313154546869732069732074686520636f6e74656e742e58408eb33e4ca31d1c465ab05aac34cc6b23d58fef5c083106c4d25a91aef0b0117e2af9a291aa32e14ab834dc56ed2a223444547e01f11d3b0916e5a4c345cacb36",
    );
    assert_eq!(Message::decode(&sign1).unwrap().type_name(), "Sign1");
    // untagged Encrypt0 from encrypted-tests/enc-pass-03
    let enc0 = h(
        "8340a20101054c02d1f7e6f26c43d4868d87ce582460973a94bb2898009ee52ecfd9ab1dd25867374b24bee54aa5d797c8dc845929acaa47ef",
    );
    assert_eq!(Message::decode(&enc0).unwrap().type_name(), "Encrypt0");
}
