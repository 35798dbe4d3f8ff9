//! RFC 9529 §4: every invalid message is rejected, with the error the RFC's reason calls for.
#![cfg(feature = "std")] // the tests build MoteCrypto from the OS random source
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Vectors, eq};
use mote_edhoc::schedule;
use mote_edhoc::*;

fn responder(suite: u8) -> Responder<MoteCrypto<rand_core::OsRng>> {
    let v = Vectors::load("rfc9529_trace2.txt");
    let cred_r = Credential::ccs(v.get("CRED_R.cbor")).unwrap();
    let id = if suite == 2 {
        Identity::by_reference(cred_r, v.get("SK_R.raw")).unwrap()
    } else {
        // Suite 0: a static X25519 key is enough to reach the key agreement.
        let x = MoteCrypto::new()
            .ecdh_public_key(Curve::X25519, &Secret::from_slice(&[7; 32]).unwrap())
            .unwrap();
        let cred = Credential::ccs_from_public_key(
            "r",
            &[1],
            KeyType::X25519,
            &PublicKey::from_x(&x).unwrap(),
        )
        .unwrap();
        Identity::by_reference(cred, &[7; 32]).unwrap()
    };
    Responder::new(MoteCrypto::new(), ResponderConfig::new(suite, id))
}

fn invalid(section: &str) -> Vec<u8> {
    let v = Vectors::load("rfc9529_invalid.txt");
    for k in [
        "Invalid_message_1",
        "Invalid_message_2",
        "Invalid_PLAINTEXT_2",
    ] {
        let key = format!("{section}.{k}");
        if v.has(&key) {
            return v.get(&key).to_vec();
        }
    }
    panic!("no vector for {section}")
}

fn malformed(e: &Error) -> bool {
    matches!(e, Error::Malformed { .. })
}

#[test]
fn encoding_errors_in_message_1() {
    // §4.1.1 array instead of sequence, §4.1.3 single suite as array, §4.1.4 G_X as text,
    // §4.2.6 G_X without leading zero, §4.3.1 long integer, §4.3.2 indefinite-length array.
    for section in ["4.1.1", "4.1.3", "4.1.4", "4.2.6", "4.3.1", "4.3.2"] {
        let msg = invalid(section);
        let rejected = responder(2).process_message_1(&msg).unwrap_err();
        assert!(
            malformed(&rejected.error),
            "{section}: {:?}",
            rejected.error
        );
        assert_eq!(rejected.error.error_code(), Some(1), "{section}");
        assert!(
            Message1::parse(&msg).is_err() || section == "4.2.6",
            "{section}"
        );
    }
}

#[test]
fn surplus_bstr_connection_identifier() {
    // §4.1.2: C_I = 0x0e encoded as 41 0e.
    let rejected = responder(2)
        .process_message_1(&invalid("4.1.2"))
        .unwrap_err();
    assert!(
        matches!(rejected.error, Error::InvalidConnectionId(_)),
        "{:?}",
        rejected.error
    );
}

#[test]
fn unsupported_selected_suite_24() {
    // §4.2.1: SUITES_I = [2, 24] selects P-384 suite 24 with a 32-byte G_X; this Responder
    // supports suite 2, ranked before 24, so it answers ERR_CODE 2 with SUITES_R = 2.
    let rejected = responder(2)
        .process_message_1(&invalid("4.2.1"))
        .unwrap_err();
    assert_eq!(rejected.error.error_code(), Some(2));
    assert_eq!(
        ErrorMessage::for_error(&rejected.error).unwrap().as_slice(),
        &[0x02, 0x02]
    );
}

#[test]
fn invalid_curve_points() {
    // §4.2.2 x ≥ p, §4.2.3 not on P-256, §4.2.4 low-order X25519 point (all-zero output).
    for (section, suite) in [("4.2.2", 2), ("4.2.3", 2), ("4.2.4", 0)] {
        let r = responder(suite)
            .process_message_1(&invalid(section))
            .unwrap();
        let e = r
            .prepare_message_2(ConnId::from_int(5).unwrap(), &Ead::new())
            .unwrap_err();
        assert_eq!(e, Error::InvalidPublicKey, "{section}");
    }
}

/// An Initiator in Trace 2's state after message_1, and message_2 built from `plaintext_2`
/// with Trace 2's keys (the keystream the real Responder would apply).
fn trace_2_initiator_and_message_2(
    plaintext_2: &[u8],
) -> (InitiatorWaitM2<MoteCrypto<rand_core::OsRng>>, Vec<u8>) {
    let v = Vectors::load("rfc9529_trace2.txt");
    let cred_i = Credential::ccs(v.get("CRED_I.cbor")).unwrap();
    let id_i = Identity::by_reference(cred_i, v.get("SK_I.raw")).unwrap();
    let init = Initiator::new(
        MoteCrypto::new(),
        InitiatorConfig::new(Method::StaticStatic, 2, id_i),
    );
    let (wait, _) = init
        .prepare_message_1_with_ephemeral(
            ConnId::from_slice(v.get("C_I.raw")).unwrap(),
            &Ead::new(),
            Secret::from_slice(v.get("X.raw")).unwrap(),
        )
        .unwrap();
    let mut c = MoteCrypto::new();
    let suite = CipherSuite::from_id(2).unwrap();
    // TH_2 and PRK_2e depend on message_1; our message_1 (SUITES_I = 2) differs from the trace's
    // ([6, 2]), so recompute them for it.
    let m1 = Message1 {
        method: 3,
        suites_i: Suites::from_values(&[2]).unwrap(),
        g_x: v.get("G_X.raw"),
        c_i: ConnId::from_slice(v.get("C_I.raw")).unwrap(),
        ead_1: &[],
    }
    .encode()
    .unwrap();
    let h1 = schedule::hash_message_1(&mut c, &suite, m1.as_slice()).unwrap();
    let th_2 = schedule::th_2(&mut c, &suite, v.get("G_Y.raw"), h1.as_slice()).unwrap();
    let prk_2e = c
        .hkdf_extract(suite.hash, th_2.as_slice(), v.get("G_XY.raw"))
        .unwrap();
    let mut ct = plaintext_2.to_vec();
    schedule::apply_keystream_2(&mut c, &suite, prk_2e.as_bytes(), th_2.as_slice(), &mut ct)
        .unwrap();
    let mut body = v.get("G_Y.raw").to_vec();
    body.extend_from_slice(&ct);
    let mut msg = vec![0x58, body.len() as u8];
    msg.extend_from_slice(&body);
    (wait, msg)
}

#[test]
fn genuine_plaintext_2_is_accepted_by_the_harness() {
    // The harness itself is sound: Trace 2's real PLAINTEXT_2 parses.
    let v = Vectors::load("rfc9529_trace2.txt");
    let (wait, msg) = trace_2_initiator_and_message_2(v.get("PLAINTEXT_2.seq"));
    let p = wait.parse_message_2(&msg).unwrap();
    eq("ID_CRED_R", p.id_cred_r().as_map(), v.get("ID_CRED_R.cbor"));
}

#[test]
fn invalid_plaintext_2() {
    // §4.1.6 ID_CRED_R as map, §4.1.7 kid as bstr, §4.2.5 MAC of 4 bytes.
    for section in ["4.1.6", "4.1.7", "4.2.5"] {
        let (wait, msg) = trace_2_initiator_and_message_2(&invalid(section));
        let rejected = wait.parse_message_2(&msg).unwrap_err();
        assert!(
            malformed(&rejected.error),
            "{section}: {:?}",
            rejected.error
        );
        assert!(section == "4.2.5" || Plaintext2::parse(&invalid(section)).is_err());
    }
}

#[test]
fn wrong_number_of_sequence_elements_in_message_2() {
    // §4.1.5: message_2 as two CBOR items.
    let (wait, _) = trace_2_initiator_and_message_2(&[]);
    let rejected = wait.parse_message_2(&invalid("4.1.5")).unwrap_err();
    assert!(malformed(&rejected.error), "{:?}", rejected.error);
}
