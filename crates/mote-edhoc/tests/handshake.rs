//! Every method × every cipher suite completes a handshake against itself (credentials by
//! reference and by value), with EAD in every message; both sides derive the same keys, and
//! with feature `oscore` the derived contexts protect and unprotect a message end to end.
#![cfg(feature = "std")] // MoteCrypto::new draws from the OS
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use mote_edhoc::*;

type C = MoteCrypto<rand_core::OsRng>;

struct Done {
    initiator: Session<C>,
    responder: Session<C>,
}

fn run(method: Method, suite_id: u8, by_value: bool) -> Done {
    let suite = CipherSuite::from_id(i64::from(suite_id)).unwrap();
    let id_i = common::identity(
        &suite,
        method.initiator_static_dh(),
        "initiator",
        b"I",
        by_value,
    );
    let id_r = common::identity(
        &suite,
        method.responder_static_dh(),
        "responder",
        b"R",
        by_value,
    );
    let cred_i = id_i.credential.clone();
    let cred_r = id_r.credential.clone();
    let mut icfg = InitiatorConfig::new(method, suite_id, id_i);
    icfg.ead_labels = &[-7];
    let mut rcfg = ResponderConfig::new(suite_id, id_r);
    rcfg.ead_labels = &[-7];
    let initiator = Initiator::new(MoteCrypto::new(), icfg);
    let responder = Responder::new(MoteCrypto::new(), rcfg);

    let mut ead = Ead::new();
    ead.push(EadItem {
        label: -7,
        value: Some(b"critical but known"),
    })
    .unwrap();
    ead.push(EadItem {
        label: 9,
        value: None,
    })
    .unwrap();
    ead.push_padding(5).unwrap();

    let (initiator, m1) = initiator
        .prepare_message_1(ConnId::from_int(3).unwrap(), &ead)
        .unwrap();
    let responder = responder.process_message_1(m1.as_slice()).unwrap();
    assert_eq!(responder.method(), method);
    assert_eq!(responder.ead_1(), &ead);
    let (responder, m2) = responder
        .prepare_message_2(ConnId::from_slice(b"\x99\x98").unwrap(), &ead)
        .unwrap();
    let initiator = initiator.parse_message_2(m2.as_slice()).unwrap();
    assert_eq!(
        initiator.ead_2().items().filter(|i| i.label == -7).count(),
        1
    );
    let peer = Credential::from_id_cred(initiator.id_cred_r(), &mut MoteCrypto::new()).unwrap();
    assert_eq!(peer.is_some(), by_value);
    let initiator = initiator
        .verify_message_2_with(&mut KnownCredentials(&[cred_r]))
        .unwrap();
    let (initiator, m3) = initiator.prepare_message_3(&ead).unwrap();
    let responder = responder.parse_message_3(m3.as_slice()).unwrap();
    assert_eq!(responder.ead_3(), &ead);
    let responder = responder
        .verify_message_3_with(&mut KnownCredentials(&[cred_i]))
        .unwrap();
    let (responder, m4) = responder.prepare_message_4(&ead).unwrap();
    let (initiator, ead_4) = initiator.process_message_4(m4.as_slice()).unwrap();
    assert_eq!(ead_4, ead);
    Done {
        initiator,
        responder,
    }
}

#[test]
fn every_method_and_suite() {
    for suite in 0..=6u8 {
        for method in Method::ALL {
            for by_value in [false, true] {
                let mut d = run(method, suite, by_value);
                assert_eq!(
                    d.initiator.prk_out(),
                    d.responder.prk_out(),
                    "method {method:?} suite {suite}"
                );
                let (ip, rp) = (
                    d.initiator.oscore_parameters().unwrap(),
                    d.responder.oscore_parameters().unwrap(),
                );
                assert_eq!(ip.master_secret, rp.master_secret);
                assert_eq!(
                    ip.master_secret.len(),
                    CipherSuite::from_id(i64::from(suite))
                        .unwrap()
                        .app_aead
                        .key_len()
                );
                assert_eq!(ip.master_salt, rp.master_salt);
                assert_eq!(
                    (ip.sender_id.as_bytes(), ip.recipient_id.as_bytes()),
                    (&b"\x99\x98"[..], &[3u8][..])
                );
                assert_eq!(
                    (rp.sender_id, rp.recipient_id),
                    (ip.recipient_id, ip.sender_id)
                );
                let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
                d.initiator.exporter(40000, b"ctx", &mut a).unwrap();
                d.responder.exporter(40000, b"ctx", &mut b).unwrap();
                assert_eq!(a, b);
                d.initiator.key_update(b"nonce").unwrap();
                assert_ne!(d.initiator.prk_out(), d.responder.prk_out());
                d.responder.key_update(b"nonce").unwrap();
                assert_eq!(d.initiator.prk_exporter(), d.responder.prk_exporter());
            }
        }
    }
}

#[test]
fn message_sizes_method_3_suite_2_by_kid() {
    // RFC 9529 Trace 2 sizes: 39 (with SUITES_I [6, 2]; 37 with a single suite), 45, 19, 9.
    let suite = CipherSuite::from_id(2).unwrap();
    let id_i = common::identity(&suite, true, "i", &[0x2b], false);
    let id_r = common::identity(&suite, true, "r", &[0x32], false);
    let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
    let (i, m1) = Initiator::new(
        MoteCrypto::new(),
        InitiatorConfig::new(Method::StaticStatic, 2, id_i),
    )
    .prepare_message_1(ConnId::from_int(-24).unwrap(), &Ead::new())
    .unwrap();
    let r = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r))
        .process_message_1(m1.as_slice())
        .unwrap();
    let (r, m2) = r
        .prepare_message_2(ConnId::from_int(-8).unwrap(), &Ead::new())
        .unwrap();
    let (i, m3) = i
        .parse_message_2(m2.as_slice())
        .unwrap()
        .verify_message_2(&cred_r)
        .unwrap()
        .prepare_message_3(&Ead::new())
        .unwrap();
    let (_, m4) = r
        .parse_message_3(m3.as_slice())
        .unwrap()
        .verify_message_3(&cred_i)
        .unwrap()
        .prepare_message_4(&Ead::new())
        .unwrap();
    i.process_message_4(m4.as_slice()).unwrap();
    assert_eq!([m1.len(), m2.len(), m3.len(), m4.len()], [37, 45, 19, 9]);
}

#[cfg(feature = "oscore")]
#[test]
fn derived_oscore_contexts_protect_and_unprotect() {
    use mote_oscore::Framing;
    // CON GET /temp, MID 0x1234, token 0x7a.
    let request = [0x41, 0x01, 0x12, 0x34, 0x7a, 0xb4, b't', b'e', b'm', b'p'];
    // ACK 2.05 Content, payload "21".
    let response = [0x61, 0x45, 0x12, 0x34, 0x7a, 0xff, b'2', b'1'];
    for suite in 0..=6u8 {
        for method in Method::ALL {
            let mut d = run(method, suite, false);
            let mut client = d
                .initiator
                .oscore_parameters()
                .unwrap()
                .security_context()
                .unwrap();
            let mut server = d
                .responder
                .oscore_parameters()
                .unwrap()
                .security_context()
                .unwrap();
            let mut wire = [0u8; 128];
            let (n, mut client_binding) = client
                .protect_request(Framing::Udp, &request, &mut wire)
                .unwrap();
            let mut plain = [0u8; 128];
            let v = server
                .unprotect_request(Framing::Udp, &wire[..n], &mut plain)
                .unwrap();
            assert_eq!(&plain[..v.len], &request, "suite {suite} method {method:?}");
            let mut binding = v.binding;
            let n = server
                .protect_response(Framing::Udp, &mut binding, &response, false, &mut wire)
                .unwrap();
            let m = client
                .unprotect_response(Framing::Udp, &mut client_binding, &wire[..n], &mut plain)
                .unwrap();
            assert_eq!(&plain[..m], &response);
        }
    }
}
