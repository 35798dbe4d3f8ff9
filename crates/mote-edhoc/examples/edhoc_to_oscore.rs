//! An EDHOC handshake (RFC 9528, method 3, cipher suite 2) between an Initiator and a Responder
//! with freshly generated keys, handing off to OSCORE (Appendix A.1): both sides derive a
//! `mote_oscore::SecurityContext` and exchange one protected request and response. Asserts
//! each step.
//!
//! Run with `cargo run -p mote-edhoc --features oscore --example edhoc_to_oscore`.

use mote_edhoc::{
    CipherSuite, ConnId, Credential, Crypto, Ead, Identity, Initiator, InitiatorConfig,
    KnownCredentials, Method, MoteCrypto, Responder, ResponderConfig,
};
use mote_oscore::Framing;

type Error = Box<dyn std::error::Error>;

/// A fresh static DH key of the suite's curve and a CCS credential for it, identified by `kid`.
fn fresh_identity(suite: &CipherSuite, subject: &str, kid: &[u8]) -> Result<Identity, Error> {
    let mut crypto = MoteCrypto::new();
    let (private_key, _public) = crypto.generate_ecdh_key(suite.curve)?;
    let credential =
        Credential::ccs_for_private_key(&mut crypto, suite, true, subject, kid, &private_key)?;
    Ok(Identity::by_reference(credential, private_key.as_bytes())?)
}

fn main() -> Result<(), Error> {
    let suite = CipherSuite::from_id(2).ok_or("suite 2")?; // P-256, AES-CCM-16-64-128, SHA-256
    let id_i = fresh_identity(&suite, "initiator", b"I")?;
    let id_r = fresh_identity(&suite, "responder", b"R")?;
    let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());

    // Each step consumes the state and returns the next (RFC 9528 §5).
    let initiator = Initiator::new(
        MoteCrypto::new(),
        InitiatorConfig::new(Method::StaticStatic, 2, id_i),
    );
    let responder = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
    let (initiator, message_1) =
        initiator.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    let responder = responder.process_message_1(message_1.as_slice())?;
    let (responder, message_2) = responder.prepare_message_2(ConnId::from_int(-8)?, &Ead::new())?;

    // Parse, then look the Responder's credential up by ID_CRED_R, then verify.
    let initiator = initiator.parse_message_2(message_2.as_slice())?;
    assert!(cred_r.matches(initiator.id_cred_r()));
    let initiator = initiator.verify_message_2(&cred_r)?;
    let (initiator, message_3) = initiator.prepare_message_3(&Ead::new())?;
    let responder = responder.parse_message_3(message_3.as_slice())?;
    let responder = responder.verify_message_3_with(&mut KnownCredentials(&[cred_i]))?;
    let (mut r_session, message_4) = responder.prepare_message_4(&Ead::new())?;
    let (mut i_session, _ead_4) = initiator.process_message_4(message_4.as_slice())?;
    println!(
        "EDHOC done: message_1..4 = {}, {}, {}, {} bytes",
        message_1.as_slice().len(),
        message_2.as_slice().len(),
        message_3.as_slice().len(),
        message_4.as_slice().len()
    );

    // Appendix A.1: the OSCORE contexts (feature `oscore`). C_R is the client's Sender ID.
    let mut client = i_session.oscore_parameters()?.security_context()?;
    let mut server = r_session.oscore_parameters()?.security_context()?;
    // C_R = -8 is the byte 0x27 (CBOR), C_I = -24 is 0x37.
    assert_eq!(
        (client.sender_id(), client.recipient_id()),
        (&[0x27][..], &[0x37][..])
    );
    assert_eq!(
        (server.sender_id(), server.recipient_id()),
        (&[0x37][..], &[0x27][..])
    );

    // A CON GET /temp (Message ID 1, token 0x42) protected by the client, verified by the server.
    let request = b"\x41\x01\x00\x01\x42\xb4temp";
    let mut wire = [0u8; 128];
    let mut plain = [0u8; 128];
    let (n, mut binding) = client.protect_request(Framing::Udp, request, &mut wire)?;
    let verified = server.unprotect_request(Framing::Udp, &wire[..n], &mut plain)?;
    assert_eq!(&plain[..verified.len], &request[..]);
    // ACK 2.05 "22.3 C", protected by the server, verified by the client.
    let response = b"\x61\x45\x00\x01\x42\xff22.3 C";
    let mut server_binding = verified.binding;
    let n = server.protect_response(
        Framing::Udp,
        &mut server_binding,
        response,
        false,
        &mut wire,
    )?;
    let m = client.unprotect_response(Framing::Udp, &mut binding, &wire[..n], &mut plain)?;
    assert_eq!(&plain[..m], &response[..]);
    println!("OSCORE: GET /temp -> 2.05 \"22.3 C\" under the EDHOC-derived context");
    Ok(())
}
