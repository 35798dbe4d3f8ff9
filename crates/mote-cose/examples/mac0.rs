//! COSE_Mac0 (RFC 9052 §6.2): authenticate a payload with HMAC 256/64 (COSE 4), decode the
//! message and verify the tag; a wrong key or a tampered payload fails.
//!
//! Run with `cargo run -p mote-cose --example mac0`.

use mote_cose::algorithm::MacAlgorithm;
use mote_cose::header::Header;
use mote_cose::message::{Mac0, Mac0Builder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = b"a shared secret of 32 bytes....!";
    let alg = MacAlgorithm::HmacSha256_64;
    let builder = Mac0Builder {
        protected: Header::new().with_alg(alg),
        unprotected: Header::new().with_kid(b"our-key"),
        tagged: true,
        detached: false,
    };
    let payload = b"{\"state\":\"on\"}";
    let message = builder.seal_to_vec(key, payload, b"")?;
    assert_eq!(message.len(), builder.encoded_len(payload.len())?);
    println!("COSE_Mac0, {} bytes: {}", message.len(), hex(&message));

    let received = Mac0::decode(&message)?;
    assert_eq!(received.algorithm()?, alg);
    assert_eq!(received.tag.len(), 8);
    let verified = received.verify(key, b"", None)?;
    assert_eq!(verified, payload);
    println!("verified payload: {}", String::from_utf8_lossy(verified));

    assert_eq!(
        received.verify(b"another secret", b"", None),
        Err(mote_cose::Error::Crypto)
    );
    let mut tampered = message.clone();
    let at = message.len() - 8 - 2; // last payload byte, before the tag's head
    tampered[at] ^= 1;
    assert_eq!(
        Mac0::decode(&tampered)?.verify(key, b"", None),
        Err(mote_cose::Error::Crypto)
    );
    println!("a wrong key and a tampered payload are rejected");
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
