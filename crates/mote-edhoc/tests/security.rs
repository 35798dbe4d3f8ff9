//! Fail-closed behaviour: tampering, replay, wrong method, unknown credentials, suite
//! downgrade and oversize inputs.
#![cfg(feature = "std")] // the tests build MoteCrypto from the OS random source
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use mote_edhoc::*;

type C = MoteCrypto<rand_core::OsRng>;

struct Parties {
    initiator: Initiator<C>,
    responder: Responder<C>,
    cred_i: Credential,
    cred_r: Credential,
    id_r: Identity,
}

fn parties(method: Method, suite: u8) -> Parties {
    let s = CipherSuite::from_id(i64::from(suite)).unwrap();
    let id_i = common::identity(&s, method.initiator_static_dh(), "i", b"\x01", false);
    let id_r = common::identity(&s, method.responder_static_dh(), "r", b"\x02", false);
    let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    Parties {
        initiator: Initiator::new(MoteCrypto::new(), InitiatorConfig::new(method, suite, id_i)),
        responder: Responder::new(MoteCrypto::new(), ResponderConfig::new(suite, id_r.clone())),
        cred_i,
        cred_r,
        id_r,
    }
}

fn flipped(msg: &[u8], bit: usize) -> Vec<u8> {
    let mut m = msg.to_vec();
    m[bit / 8] ^= 1 << (bit % 8);
    m
}

#[test]
fn flipped_bits_in_message_2_3_4_are_rejected_without_state_change() {
    for (method, suite) in [
        (Method::StaticStatic, 2),
        (Method::SignSign, 0),
        (Method::SignStatic, 6),
        (Method::StaticSign, 4),
    ] {
        let p = parties(method, suite);
        let (mut wait_m2, m1) = p
            .initiator
            .prepare_message_1(ConnId::from_int(1).unwrap(), &Ead::new())
            .unwrap();
        let r = p.responder.process_message_1(m1.as_slice()).unwrap();
        let (mut wait_m3, m2) = r
            .prepare_message_2(ConnId::from_int(2).unwrap(), &Ead::new())
            .unwrap();

        // message_2: CIPHERTEXT_2 is authenticated by Signature_or_MAC_2, so a flip may parse,
        // but never verifies; `reject` returns to the state before it.
        for bit in 0..m2.len() * 8 {
            let bad = flipped(m2.as_slice(), bit);
            wait_m2 = match wait_m2.parse_message_2(&bad) {
                Err(rejected) => rejected.state,
                Ok(processing) => match processing.verify_message_2(&p.cred_r) {
                    Ok(_) => panic!(
                        "flipped bit {bit} of message_2 accepted ({method:?}, suite {suite})"
                    ),
                    Err(rejected) => {
                        assert!(
                            matches!(
                                rejected.error,
                                Error::AuthenticationFailed
                                    | Error::InvalidPublicKey
                                    | Error::InvalidCredential(_)
                            ),
                            "{:?}",
                            rejected.error
                        );
                        rejected.state.reject()
                    }
                },
            };
        }
        let processed = wait_m2
            .parse_message_2(m2.as_slice())
            .unwrap()
            .verify_message_2(&p.cred_r)
            .unwrap();
        let (mut wait_m4, m3) = processed.prepare_message_3(&Ead::new()).unwrap();

        for bit in 0..m3.len() * 8 {
            let bad = flipped(m3.as_slice(), bit);
            wait_m3 = match wait_m3.parse_message_3(&bad) {
                Err(rejected) => rejected.state,
                Ok(_) => panic!("flipped bit {bit} of message_3 accepted"),
            };
        }
        let verified = wait_m3
            .parse_message_3(m3.as_slice())
            .unwrap()
            .verify_message_3(&p.cred_i)
            .unwrap();
        let (session_r, m4) = verified.prepare_message_4(&Ead::new()).unwrap();
        for bit in 0..m4.len() * 8 {
            let bad = flipped(m4.as_slice(), bit);
            wait_m4 = match wait_m4.process_message_4(&bad) {
                Err(rejected) => rejected.state,
                Ok(_) => panic!("flipped bit {bit} of message_4 accepted"),
            };
        }
        let (session_i, _) = wait_m4.process_message_4(m4.as_slice()).unwrap();
        assert_eq!(session_i.prk_out(), session_r.prk_out());
    }
}

#[test]
fn message_3_replayed_into_another_session_is_rejected() {
    let p = parties(Method::StaticStatic, 2);
    let (wait, m1) = p
        .initiator
        .prepare_message_1(ConnId::from_int(1).unwrap(), &Ead::new())
        .unwrap();
    // The Responder sees message_1 twice (an attacker replays it) and runs two sessions.
    let responder_2 = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, p.id_r.clone()));
    let r1 = p.responder.process_message_1(m1.as_slice()).unwrap();
    let (wait_m3_a, m2) = r1
        .prepare_message_2(ConnId::from_int(2).unwrap(), &Ead::new())
        .unwrap();
    let r2 = responder_2.process_message_1(m1.as_slice()).unwrap();
    let (wait_m3_b, _) = r2
        .prepare_message_2(ConnId::from_int(3).unwrap(), &Ead::new())
        .unwrap();
    let (_, m3) = wait
        .parse_message_2(m2.as_slice())
        .unwrap()
        .verify_message_2(&p.cred_r)
        .unwrap()
        .prepare_message_3(&Ead::new())
        .unwrap();
    // Genuine in session A; replayed into session B it fails (fresh G_Y there).
    let rejected = wait_m3_b.parse_message_3(m3.as_slice()).unwrap_err();
    assert_eq!(rejected.error, Error::AuthenticationFailed);
    wait_m3_a
        .parse_message_3(m3.as_slice())
        .unwrap()
        .verify_message_3(&p.cred_i)
        .unwrap();
}

/// Runs a whole exchange with `method`, the given identities and a Responder accepting
/// `methods`; returns the Responder's rejection of message_1, if any.
fn exchange(method: Method, id_i: &Identity, id_r: &Identity, methods: &[Method]) -> Option<Error> {
    let (wait, m1) = Initiator::new(
        MoteCrypto::new(),
        InitiatorConfig::new(method, 2, id_i.clone()),
    )
    .prepare_message_1(ConnId::from_int(1).unwrap(), &Ead::new())
    .unwrap();
    let responder = Responder::new(
        MoteCrypto::new(),
        ResponderConfig::new(2, id_r.clone()).with_methods(methods),
    );
    let processing = match responder.process_message_1(m1.as_slice()) {
        Ok(p) => p,
        Err(rejected) => return Some(rejected.error),
    };
    assert_eq!(processing.method(), method);
    let (wait_m3, m2) = processing
        .prepare_message_2(ConnId::from_int(2).unwrap(), &Ead::new())
        .unwrap();
    let (_, m3) = wait
        .parse_message_2(m2.as_slice())
        .unwrap()
        .verify_message_2(&id_r.credential)
        .unwrap()
        .prepare_message_3(&Ead::new())
        .unwrap();
    wait_m3
        .parse_message_3(m3.as_slice())
        .unwrap()
        .verify_message_3(&id_i.credential)
        .unwrap();
    None
}

#[test]
fn wrong_method_is_rejected() {
    // Cipher suite 2 (P-256): one key pair serves both for ECDSA and for static DH, so the same
    // two identities run every method and the exchanges below differ in METHOD only.
    let s = CipherSuite::from_id(2).unwrap();
    let id_i = common::identity(&s, true, "i", b"\x01", false);
    let id_r = common::identity(&s, true, "r", b"\x02", false);

    // Control: with these keys, both methods complete when the Responder accepts them.
    assert_eq!(
        exchange(Method::SignSign, &id_i, &id_r, &[Method::SignSign]),
        None
    );
    assert_eq!(
        exchange(Method::StaticStatic, &id_i, &id_r, &[Method::StaticStatic]),
        None
    );
    // RFC 9528 §3.2, §5.2.3: a Responder that does not support the Initiator's METHOD rejects
    // message_1. Same keys, a Responder that accepts SignSign only, an Initiator using
    // StaticStatic (3).
    assert_eq!(
        exchange(Method::StaticStatic, &id_i, &id_r, &[Method::SignSign]),
        Some(Error::UnsupportedMethod(3))
    );

    // One and the same message_1, with only its METHOD byte rewritten: the original is
    // accepted, the rewritten one rejected with the method it names.
    let (_, m1) = Initiator::new(
        MoteCrypto::new(),
        InitiatorConfig::new(Method::SignSign, 2, id_i.clone()),
    )
    .prepare_message_1(ConnId::from_int(1).unwrap(), &Ead::new())
    .unwrap();
    // RFC 9528 §5.2.1: METHOD is the first item of message_1; 0 and 3 are one-byte CBOR ints.
    assert_eq!(m1.as_slice()[0], 0x00);
    let mut m1_static = m1.as_slice().to_vec();
    m1_static[0] = 0x03;
    let responder = Responder::new(
        MoteCrypto::new(),
        ResponderConfig::new(2, id_r.clone()).with_methods(&[Method::SignSign]),
    );
    let rejected = responder.process_message_1(&m1_static).unwrap_err();
    assert_eq!(rejected.error, Error::UnsupportedMethod(3));
    // RFC 9528 §6.2: the error message for an unsupported method is ERR_CODE 1 (Unspecified).
    let err = ErrorMessage::for_error(&rejected.error).unwrap();
    assert!(matches!(
        ErrorMessage::parse(err.as_slice()).unwrap(),
        ErrorMessage::Unspecified(_)
    ));
    // The rejection left the Responder as it was: the genuine message_1 goes through.
    let processing = rejected.state.process_message_1(m1.as_slice()).unwrap();
    assert_eq!(processing.method(), Method::SignSign);

    // METHOD 4 does not exist (RFC 9528 §3.2, Table 2): rejected whatever the configuration.
    let mut m1_four = m1.as_slice().to_vec();
    m1_four[0] = 0x04;
    let all = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r.clone()));
    assert_eq!(
        all.process_message_1(&m1_four).unwrap_err().error,
        Error::UnsupportedMethod(4)
    );
    // The Initiator needs no check of its own: METHOD is not repeated in message_2, and a
    // message_2 made for another METHOD was made over another message_1, so TH_2 (RFC 9528
    // §5.3.2) differs and it fails as any tampered message_2 does (see the bit-flip test).
}

#[test]
fn unknown_credential_is_answered_with_err_code_3() {
    let p = parties(Method::StaticStatic, 2);
    let (wait, m1) = p
        .initiator
        .prepare_message_1(ConnId::from_int(1).unwrap(), &Ead::new())
        .unwrap();
    let (wait_m3, m2) = p
        .responder
        .process_message_1(m1.as_slice())
        .unwrap()
        .prepare_message_2(ConnId::from_int(2).unwrap(), &Ead::new())
        .unwrap();
    let (wait_m4, m3) = wait
        .parse_message_2(m2.as_slice())
        .unwrap()
        .verify_message_2(&p.cred_r)
        .unwrap()
        .prepare_message_3(&Ead::new())
        .unwrap();
    let processing = wait_m3.parse_message_3(m3.as_slice()).unwrap();
    let rejected = processing
        .verify_message_3_with(&mut KnownCredentials(&[]))
        .unwrap_err();
    assert_eq!(rejected.error, Error::UnknownCredential);
    let err = ErrorMessage::for_error(&rejected.error).unwrap();
    assert_eq!(err.as_slice(), &[0x03, 0xf5]);
    // The Initiator receives the error where it expects message_4.
    let rejected = wait_m4.process_message_4(err.as_slice()).unwrap_err();
    assert_eq!(rejected.error, Error::PeerError { code: 3 });
    // The Responder, given the right credential afterwards, still completes.
    rejected.state.finish().unwrap();
}

/// RFC 9528 §6 in the other direction: the Initiator cannot find CRED_R (ERR_CODE 3, §6.4) or
/// fails on message_2 (ERR_CODE 1 with a diagnostic text, §6.2) and sends the error where the
/// Responder expects message_3; the Responder reports it and keeps its state. An ERR_CODE 1
/// in place of message_2 reaches the Initiator the same way.
#[test]
fn initiator_errors_reach_the_responder() {
    let p = parties(Method::StaticStatic, 2);
    let (wait, m1) = p
        .initiator
        .prepare_message_1(ConnId::from_int(1).unwrap(), &Ead::new())
        .unwrap();
    let (wait_m3, m2) = p
        .responder
        .process_message_1(m1.as_slice())
        .unwrap()
        .prepare_message_2(ConnId::from_int(2).unwrap(), &Ead::new())
        .unwrap();
    let processing = wait.parse_message_2(m2.as_slice()).unwrap();
    let rejected = processing
        .verify_message_2_with(&mut KnownCredentials(&[]))
        .unwrap_err();
    assert_eq!(rejected.error, Error::UnknownCredential);
    let err3 = ErrorMessage::for_error(&rejected.error).unwrap();
    assert_eq!(err3.as_slice(), &[0x03, 0xf5]);
    let r = wait_m3.parse_message_3(err3.as_slice()).unwrap_err();
    assert_eq!(r.error, Error::PeerError { code: 3 });

    // ERR_CODE 1: the diagnostic text travels as a CBOR text string.
    let err1 = ErrorMessage::for_error(&Error::AuthenticationFailed).unwrap();
    assert_eq!(
        ErrorMessage::parse(err1.as_slice()).unwrap(),
        ErrorMessage::Unspecified("authentication failed")
    );
    let r = r.state.parse_message_3(err1.as_slice()).unwrap_err();
    assert_eq!(r.error, Error::PeerError { code: 1 });
    assert_eq!(r.error.error_code(), None, "no error answers an error");

    // The same ERR_CODE 1 where the Initiator waits for message_2.
    let wait = rejected.state.reject();
    let r = wait.parse_message_2(err1.as_slice()).unwrap_err();
    assert_eq!(r.error, Error::PeerError { code: 1 });
}

#[test]
fn responder_rejects_a_less_preferred_selection_and_initiator_detects_downgrade() {
    let s2 = CipherSuite::from_id(2).unwrap();
    // Responder supports 0 and 2; SUITES_I = [0, 2] selects 2 although 0 is preferred and
    // supported: ERR_CODE 2 (RFC 9528 §6.3.1).
    let id_r = common::identity(&s2, true, "r", b"\x02", false);
    let responder = Responder::new(
        MoteCrypto::new(),
        ResponderConfig::new(2, id_r.clone())
            .with_suites(&[2, 0])
            .unwrap(),
    );
    let m1 = Message1 {
        method: 3,
        suites_i: Suites::from_values(&[0, 2]).unwrap(),
        g_x: &[9; 32],
        c_i: ConnId::from_int(1).unwrap(),
        ead_1: &[],
    };
    let rejected = responder
        .process_message_1(m1.encode().unwrap().as_slice())
        .unwrap_err();
    let Error::WrongSelectedSuite { suites_r } = rejected.error else {
        panic!()
    };
    assert_eq!(suites_r.as_slice(), &[2, 0]);

    // A man in the middle rewriting SUITES_I from [0, 2] to [2] (to hide the preference) is
    // detected by the Initiator: message_1 enters TH_2, so MAC_2 fails.
    let id_i = common::identity(&s2, true, "i", b"\x01", false);
    let cred_r = id_r.credential.clone();
    let initiator = Initiator::new(
        MoteCrypto::new(),
        InitiatorConfig::new(Method::StaticStatic, 0, id_i)
            .with_suites(&[0, 2])
            .unwrap(),
    );
    let initiator = initiator
        .prepare_message_1(ConnId::from_int(1).unwrap(), &Ead::new())
        .unwrap()
        .0
        .restart(&Suites::from_values(&[2]).unwrap())
        .unwrap();
    assert_eq!(initiator.suites_i().as_slice(), &[0, 2]);
    let (wait, m1) = initiator
        .prepare_message_1(ConnId::from_int(1).unwrap(), &Ead::new())
        .unwrap();
    let mut tampered = Message1::parse(m1.as_slice()).unwrap();
    tampered.suites_i = Suites::from_values(&[2]).unwrap();
    let tampered = tampered.encode().unwrap();
    let r = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r))
        .process_message_1(tampered.as_slice())
        .unwrap();
    let (_, m2) = r
        .prepare_message_2(ConnId::from_int(2).unwrap(), &Ead::new())
        .unwrap();
    // TH_2 differs, so the keystream differs: PLAINTEXT_2 is garbage or MAC_2 fails.
    match wait.parse_message_2(m2.as_slice()) {
        Err(rejected) => assert!(matches!(
            rejected.error,
            Error::Malformed { .. } | Error::InvalidConnectionId(_)
        )),
        Ok(p) => assert_eq!(
            p.verify_message_2(&cred_r).unwrap_err().error,
            Error::AuthenticationFailed
        ),
    }

    // SUITES_R listing only the suite already rejected cannot make progress.
    let id_i = common::identity(&s2, true, "i", b"\x01", false);
    let initiator = Initiator::new(
        MoteCrypto::new(),
        InitiatorConfig::new(Method::StaticStatic, 2, id_i),
    );
    let (wait, _) = initiator
        .prepare_message_1(ConnId::from_int(1).unwrap(), &Ead::new())
        .unwrap();
    assert_eq!(
        wait.restart(&Suites::from_values(&[2]).unwrap())
            .unwrap_err(),
        Error::NoCommonSuite
    );
}

#[test]
fn unknown_critical_ead_aborts_and_non_critical_is_ignored() {
    let p = parties(Method::StaticStatic, 2);
    let mut ead = Ead::new();
    ead.push(EadItem {
        label: 5,
        value: Some(b"ignored"),
    })
    .unwrap();
    let (_, m1) = p
        .initiator
        .prepare_message_1(ConnId::from_int(1).unwrap(), &ead)
        .unwrap();
    let r = p.responder.process_message_1(m1.as_slice()).unwrap();
    assert_eq!(r.ead_1().items().next().unwrap().label, 5);

    let q = parties(Method::StaticStatic, 2);
    let mut ead = Ead::new();
    ead.push(EadItem {
        label: -5,
        value: None,
    })
    .unwrap();
    let (_, m1) = q
        .initiator
        .prepare_message_1(ConnId::from_int(1).unwrap(), &ead)
        .unwrap();
    let rejected = q.responder.process_message_1(m1.as_slice()).unwrap_err();
    assert_eq!(rejected.error, Error::UnknownCriticalEad(-5));
    assert_eq!(rejected.error.error_code(), Some(1));
}

#[test]
fn equal_connection_identifiers_are_refused() {
    let p = parties(Method::StaticStatic, 2);
    let (_, m1) = p
        .initiator
        .prepare_message_1(ConnId::from_int(7).unwrap(), &Ead::new())
        .unwrap();
    let r = p.responder.process_message_1(m1.as_slice()).unwrap();
    assert!(matches!(
        r.prepare_message_2(ConnId::from_int(7).unwrap(), &Ead::new()),
        Err(Error::InvalidConnectionId(_))
    ));
}

#[test]
fn oversize_inputs_are_rejected_before_copying() {
    let p = parties(Method::StaticStatic, 2);
    let big = vec![0x03; buffer::MAX_MESSAGE_LEN + 1];
    let rejected = p.responder.process_message_1(&big).unwrap_err();
    assert!(matches!(rejected.error, Error::Capacity { .. }));
    // A length field claiming 4 GiB is refused from the header, nothing is reserved for it.
    let (wait, _) = p
        .initiator
        .prepare_message_1(ConnId::from_int(1).unwrap(), &Ead::new())
        .unwrap();
    let rejected = wait
        .parse_message_2(&[0x5a, 0xff, 0xff, 0xff, 0xff, 0x00])
        .unwrap_err();
    assert!(matches!(rejected.error, Error::Malformed { .. }));
    let rejected = rejected
        .state
        .parse_message_2(&vec![0x59; buffer::MAX_MESSAGE_LEN + 10])
        .unwrap_err();
    assert!(matches!(rejected.error, Error::Capacity { .. }));
    assert!(
        Message1::parse(&[
            0x03, 0x02, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
        ])
        .is_err()
    );
}
