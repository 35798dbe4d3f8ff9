//! Interoperability with lakers 0.8 (method 3, cipher suite 2, the only combination lakers
//! implements): our Initiator against its Responder and its Initiator against our Responder,
//! credentials by 'kid' and by value, with matching OSCORE parameters.
#![cfg(feature = "std")] // the tests build MoteCrypto from the OS random source
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::Vectors;
use lakers::{
    Credential as LCredential, CredentialTransfer, EDHOCMethod, EDHOCSuite, EdhocInitiator,
    EdhocMessageBuffer, EdhocResponder, credential_check_or_fetch,
};
use lakers_crypto_rustcrypto::Crypto as LCrypto;
use mote_edhoc::*;

fn lakers_crypto() -> LCrypto<rand_core::OsRng> {
    LCrypto::new(rand_core::OsRng)
}

fn buf(b: &[u8]) -> EdhocMessageBuffer {
    EdhocMessageBuffer::new_from_slice(b).unwrap()
}

struct Keys {
    cred_i: Vec<u8>,
    cred_r: Vec<u8>,
    sk_i: [u8; 32],
    sk_r: [u8; 32],
}

fn keys() -> Keys {
    let v = Vectors::load("rfc9529_trace2.txt");
    Keys {
        cred_i: v.get("CRED_I.cbor").to_vec(),
        cred_r: v.get("CRED_R.cbor").to_vec(),
        sk_i: v.get("SK_I.raw").try_into().unwrap(),
        sk_r: v.get("SK_R.raw").try_into().unwrap(),
    }
}

fn identity(cred: &[u8], sk: &[u8], by_value: bool) -> Identity {
    let c = Credential::ccs(cred).unwrap();
    if by_value {
        Identity::by_value(c, sk).unwrap()
    } else {
        Identity::by_reference(c, sk).unwrap()
    }
}

fn mote_initiator_with_lakers_responder(by_value: bool) {
    let k = keys();
    let l_cred_r = LCredential::parse_ccs(&k.cred_r).unwrap();
    let l_cred_i = LCredential::parse_ccs(&k.cred_i).unwrap();
    let responder = EdhocResponder::new(lakers_crypto(), EDHOCMethod::StatStat, k.sk_r, l_cred_r);
    let initiator = Initiator::new(
        MoteCrypto::new(),
        InitiatorConfig::new(
            Method::StaticStatic,
            2,
            identity(&k.cred_i, &k.sk_i, by_value),
        ),
    );

    let (initiator, m1) = initiator
        .prepare_message_1(ConnId::from_int(-24).unwrap(), &Ead::new())
        .unwrap();
    let (responder, c_i, _) = responder.process_message_1(&buf(m1.as_slice())).unwrap();
    assert_eq!(c_i.as_slice(), &[0x37]);
    let transfer = if by_value {
        CredentialTransfer::ByValue
    } else {
        CredentialTransfer::ByReference
    };
    let (responder, m2) = responder
        .prepare_message_2(
            transfer,
            Some(lakers::ConnId::from_slice(&[0x27]).unwrap()),
            &None,
        )
        .unwrap();

    let initiator = initiator.parse_message_2(m2.as_slice()).unwrap();
    let cred_r =
        match Credential::from_id_cred(initiator.id_cred_r(), &mut MoteCrypto::new()).unwrap() {
            Some(by_value) => by_value,
            None => Credential::ccs(&k.cred_r).unwrap(),
        };
    assert!(cred_r.matches(initiator.id_cred_r()));
    let initiator = initiator.verify_message_2(&cred_r).unwrap();
    let (initiator, m3) = initiator.prepare_message_3(&Ead::new()).unwrap();

    let (responder, id_cred_i, _) = responder.parse_message_3(&buf(m3.as_slice())).unwrap();
    let valid_cred_i =
        credential_check_or_fetch(if by_value { None } else { Some(l_cred_i) }, id_cred_i).unwrap();
    let (responder, r_prk_out) = responder.verify_message_3(valid_cred_i).unwrap();
    let (mut responder, m4) = responder.prepare_message_4(&None).unwrap();
    let (mut session, _) = initiator.process_message_4(m4.as_slice()).unwrap();

    assert_eq!(session.prk_out().as_bytes(), &r_prk_out);
    let p = session.oscore_parameters().unwrap();
    assert_eq!(
        p.master_secret.as_bytes(),
        &responder.edhoc_exporter(0, &[], 16)[..16]
    );
    assert_eq!(
        p.master_salt.as_slice(),
        &responder.edhoc_exporter(1, &[], 8)[..8]
    );
    assert_eq!(p.sender_id.as_bytes(), &[0x27]);
    assert_eq!(p.recipient_id.as_bytes(), &[0x37]);
    // Key update agrees too (Appendix H).
    session.key_update(b"ctx").unwrap();
    assert_eq!(
        session.prk_out().as_bytes(),
        &responder.edhoc_key_update(b"ctx")
    );
}

fn lakers_initiator_with_mote_responder(by_value: bool) {
    let k = keys();
    let l_cred_r = LCredential::parse_ccs(&k.cred_r).unwrap();
    let l_cred_i = LCredential::parse_ccs(&k.cred_i).unwrap();
    let responder = Responder::new(
        MoteCrypto::new(),
        ResponderConfig::new(2, identity(&k.cred_r, &k.sk_r, by_value)),
    );
    let initiator = EdhocInitiator::new(
        lakers_crypto(),
        EDHOCMethod::StatStat,
        EDHOCSuite::CipherSuite2,
    );

    let (initiator, m1) = initiator
        .prepare_message_1(Some(lakers::ConnId::from_slice(&[0x0e]).unwrap()), &None)
        .unwrap();
    let responder = responder.process_message_1(m1.as_slice()).unwrap();
    assert_eq!(responder.c_i().as_bytes(), &[0x0e]);
    let (responder, m2) = responder
        .prepare_message_2(ConnId::from_slice(&[0x01, 0x02]).unwrap(), &Ead::new())
        .unwrap();

    let (mut initiator, c_r, id_cred_r, _) =
        initiator.parse_message_2(&buf(m2.as_slice())).unwrap();
    assert_eq!(c_r.as_slice(), &[0x01, 0x02]);
    let valid_cred_r =
        credential_check_or_fetch(if by_value { None } else { Some(l_cred_r) }, id_cred_r).unwrap();
    initiator.set_identity(k.sk_i, l_cred_i).unwrap();
    let initiator = initiator.verify_message_2(valid_cred_r).unwrap();
    let transfer = if by_value {
        CredentialTransfer::ByValue
    } else {
        CredentialTransfer::ByReference
    };
    let (initiator, m3, i_prk_out) = initiator.prepare_message_3(transfer, &None).unwrap();

    let responder = responder.parse_message_3(m3.as_slice()).unwrap();
    let cred_i =
        match Credential::from_id_cred(responder.id_cred_i(), &mut MoteCrypto::new()).unwrap() {
            Some(c) => c,
            None => Credential::ccs(&k.cred_i).unwrap(),
        };
    let responder = responder.verify_message_3(&cred_i).unwrap();
    let (mut session, m4) = responder.prepare_message_4(&Ead::new()).unwrap();
    let (mut initiator, _) = initiator.process_message_4(&buf(m4.as_slice())).unwrap();

    assert_eq!(session.prk_out().as_bytes(), &i_prk_out);
    let p = session.oscore_parameters().unwrap();
    assert_eq!(
        p.master_secret.as_bytes(),
        &initiator.edhoc_exporter(0, &[], 16)[..16]
    );
    assert_eq!(
        p.master_salt.as_slice(),
        &initiator.edhoc_exporter(1, &[], 8)[..8]
    );
    assert_eq!(p.sender_id.as_bytes(), &[0x0e]);
    assert_eq!(p.recipient_id.as_bytes(), &[0x01, 0x02]);
}

#[test]
fn mote_initiator_lakers_responder_by_kid() {
    mote_initiator_with_lakers_responder(false);
}

#[test]
fn mote_initiator_lakers_responder_by_value() {
    mote_initiator_with_lakers_responder(true);
}

#[test]
fn lakers_initiator_mote_responder_by_kid() {
    lakers_initiator_with_mote_responder(false);
}

#[test]
fn lakers_initiator_mote_responder_by_value() {
    lakers_initiator_with_mote_responder(true);
}
