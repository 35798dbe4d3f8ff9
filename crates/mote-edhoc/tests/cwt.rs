//! CWT credentials (RFC 8392, RFC 9528 §3.5.2, §3.5.3.1 'kcwt'): issuer protection checked,
//! then used by reference and by value in a handshake.
#![cfg(feature = "std")] // MoteCrypto::new draws from the OS
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use mote_cose::algorithm::{SignatureAlgorithm as CoseSig, SigningKey};
use mote_cose::header::{Header, Label};
use mote_cose::message::Sign1Builder;
use mote_edhoc::*;

fn issue(claims: &[u8], issuer: &SigningKey) -> Vec<u8> {
    let b = Sign1Builder {
        protected: Header {
            alg: Some(Label::Int(-8)),
            ..Header::default()
        },
        tagged: true,
        ..Sign1Builder::default()
    };
    let mut out = vec![0u8; b.encoded_len(issuer, claims.len())];
    let mut scratch = vec![0u8; claims.len() + 64];
    let n = b
        .sign_into(issuer, claims, &[], &mut scratch, &mut out)
        .unwrap();
    out.truncate(n);
    out
}

#[test]
fn cwt_credentials_in_a_handshake() {
    let suite = CipherSuite::from_id(2).unwrap();
    let issuer = SigningKey::from_bytes(CoseSig::EdDsa, &[0x42; 32]).unwrap();
    let issuer_pk = issuer.verifying_key();
    // Keys and claims sets as for CCS credentials, then wrapped into CWTs by the issuer.
    let id_i = common::identity(&suite, true, "device", b"\x05", false);
    let id_r = common::identity(&suite, true, "server", b"\x06", false);
    let cwt_i = issue(id_i.credential.as_bytes(), &issuer);
    let cwt_r = issue(id_r.credential.as_bytes(), &issuer);
    let cred_i = Credential::cwt(&cwt_i, CwtIssuer::Signature(&issuer_pk)).unwrap();
    let cred_r = Credential::cwt(&cwt_r, CwtIssuer::Signature(&issuer_pk)).unwrap();
    assert_eq!(cred_i.kind(), CredentialKind::Cwt);
    assert_eq!(cred_i.public_key(), id_i.credential.public_key());
    assert_eq!(cred_i.as_bytes(), cwt_i.as_slice());
    // A tampered CWT or another issuer is refused.
    let mut bad = cwt_i.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert!(Credential::cwt(&bad, CwtIssuer::Signature(&issuer_pk)).is_err());
    let other = SigningKey::from_bytes(CoseSig::EdDsa, &[0x43; 32])
        .unwrap()
        .verifying_key();
    assert!(Credential::cwt(&cwt_i, CwtIssuer::Signature(&other)).is_err());

    // Initiator sends its CWT by value ('kcwt'), the Responder is referenced by kid.
    let sk_i = id_i.private_key.as_bytes().to_vec();
    let sk_r = id_r.private_key.as_bytes().to_vec();
    let me_i = Identity::by_value(cred_i.clone(), &sk_i).unwrap();
    let me_r = Identity::by_reference(cred_r.clone(), &sk_r).unwrap();
    let (i, m1) = Initiator::new(
        MoteCrypto::new(),
        InitiatorConfig::new(Method::StaticStatic, 2, me_i),
    )
    .prepare_message_1(ConnId::from_int(1).unwrap(), &Ead::new())
    .unwrap();
    let r = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, me_r))
        .process_message_1(m1.as_slice())
        .unwrap();
    let (r, m2) = r
        .prepare_message_2(ConnId::from_int(2).unwrap(), &Ead::new())
        .unwrap();
    let i = i.parse_message_2(m2.as_slice()).unwrap();
    assert!(cred_r.matches(i.id_cred_r()));
    let (i, m3) = i
        .verify_message_2(&cred_r)
        .unwrap()
        .prepare_message_3(&Ead::new())
        .unwrap();
    let r = r.parse_message_3(m3.as_slice()).unwrap();
    let IdCredRef::Kcwt(received) = r.id_cred_i().reference() else {
        panic!("expected kcwt")
    };
    let received = Credential::cwt(received, CwtIssuer::Signature(&issuer_pk)).unwrap();
    let (rs, m4) = r
        .verify_message_3(&received)
        .unwrap()
        .prepare_message_4(&Ead::new())
        .unwrap();
    let (is, _) = i.process_message_4(m4.as_slice()).unwrap();
    assert_eq!(is.prk_out(), rs.prk_out());
}
