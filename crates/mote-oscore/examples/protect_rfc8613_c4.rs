//! Protects one request with the client context of RFC 8613 Appendix C.1.1 and checks it
//! byte for byte against Appendix C.4; the server context of C.1.2 unprotects it, protects the
//! 2.05 response, and the result is checked against Appendix C.7. Asserts each step.
//!
//! Run with `cargo run -p mote-oscore --example protect_rfc8613_c4`.

use mote_oscore::{Framing, SecurityContext, SecurityContextParams};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .filter_map(|i| s.get(i..i + 2))
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

fn main() -> Result<(), mote_oscore::Error> {
    // RFC 8613 C.1: Master Secret, Master Salt; the client's Sender ID is empty, the server's 0x01.
    let secret = hex("0102030405060708090a0b0c0d0e0f10");
    let salt = hex("9e7ca92223786340");
    let mut client_params = SecurityContextParams::new(&secret, &[], &[0x01]);
    client_params.master_salt = &salt;
    let mut server_params = SecurityContextParams::new(&secret, &[0x01], &[]);
    server_params.master_salt = &salt;
    let mut client = SecurityContext::new(&client_params)?; // C.1.1
    let mut server = SecurityContext::new(&server_params)?; // C.1.2

    // C.4: GET coap://localhost/tv1 with Sender Sequence Number 20.
    client.set_sender_sequence_number(20)?;
    let request = hex("44015d1f00003974396c6f63616c686f737483747631");
    let mut wire = [0u8; 128];
    let (n, mut binding) = client.protect_request(Framing::Udp, &request, &mut wire)?;
    let c4 = hex("44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e");
    assert_eq!(&wire[..n], &c4[..], "C.4 protected request");
    println!("C.4 request  {n} bytes, matches RFC 8613 C.4");

    // The server verifies it (no replay: this is the first Partial IV 20 it sees).
    let mut plain = [0u8; 128];
    let verified = server.unprotect_request(Framing::Udp, &wire[..n], &mut plain)?;
    assert_eq!(&plain[..verified.len], &request[..]);

    // C.7: 2.05 "Hello World!", protected with the request's nonce (no Partial IV).
    let response = hex("64455d1f00003974ff48656c6c6f20576f726c6421");
    let mut server_binding = verified.binding;
    let n = server.protect_response(
        Framing::Udp,
        &mut server_binding,
        &response,
        false,
        &mut wire,
    )?;
    let c7 = hex("64445d1f0000397490ffdbaad1e9a7e7b2a813d3c31524378303cdafae119106");
    assert_eq!(&wire[..n], &c7[..], "C.7 protected response");
    println!("C.7 response {n} bytes, matches RFC 8613 C.7");

    let m = client.unprotect_response(Framing::Udp, &mut binding, &wire[..n], &mut plain)?;
    assert_eq!(&plain[..m], &response[..]);
    // A second copy of the same request is a replay (RFC 8613 §7.4).
    assert!(
        server
            .unprotect_request(Framing::Udp, &c4, &mut plain)
            .is_err()
    );
    Ok(())
}
