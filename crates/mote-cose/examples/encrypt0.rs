//! COSE_Encrypt0 (RFC 9052 §5.2): seal a plaintext with AES-CCM-16-64-128 (COSE 10) into a
//! caller buffer, decode the message and open it; a wrong key or external AAD fails.
//!
//! Run with `cargo run -p mote-cose --example encrypt0`.

use mote_cose::algorithm::AeadAlgorithm;
use mote_cose::header::Header;
use mote_cose::message::{Encrypt0, Encrypt0Builder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = [0x0f; 16];
    // RFC 9053 §4.2: AES-CCM-16-64-128 takes a 13-byte nonce; the IV must never repeat under
    // one key, so a real sender derives it from a counter.
    let iv = [0x89; 13];
    let alg = AeadAlgorithm::AesCcm16_64_128;
    assert_eq!(alg.nonce_len(), iv.len());

    let builder = Encrypt0Builder {
        protected: Header::new().with_alg(alg),
        unprotected: Header::new().with_iv(&iv).with_kid(b"k1"),
        tagged: true,
    };
    let plaintext = b"open the valve";
    let aad = b"request /valve/1";

    // No allocation: the message goes into a buffer of the size the builder computes.
    let mut message = [0u8; 128];
    let mut scratch = [0u8; 64];
    let needed = builder.encoded_len(plaintext.len())?;
    let len = builder.seal_into(&key, None, plaintext, aad, &mut scratch, &mut message)?;
    assert_eq!(len, needed);
    let message = &message[..len];
    println!("COSE_Encrypt0, {len} bytes: {}", hex(message));
    assert!(!message.windows(plaintext.len()).any(|w| w == plaintext));

    let received = Encrypt0::decode(message)?;
    assert_eq!(received.algorithm()?, alg);
    assert_eq!(received.kid(), Some(&b"k1"[..]));
    let mut buf = [0u8; 128];
    let opened = received.decrypt_into(&key, None, aad, None, &mut buf)?;
    assert_eq!(opened, plaintext);
    println!("opened: {}", String::from_utf8_lossy(opened));

    let mut buf = [0u8; 128];
    assert_eq!(
        received.decrypt_into(&[0x10; 16], None, aad, None, &mut buf),
        Err(mote_cose::Error::Crypto)
    );
    let mut buf = [0u8; 128];
    assert_eq!(
        received.decrypt_into(&key, None, b"request /valve/2", None, &mut buf),
        Err(mote_cose::Error::Crypto)
    );
    println!("a wrong key and a wrong external AAD are rejected");
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
