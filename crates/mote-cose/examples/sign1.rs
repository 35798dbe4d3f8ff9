//! COSE_Sign1 (RFC 9052 §4.2): sign a payload with a fresh ES256 key, decode the message and
//! verify it with the public key; a changed payload or the wrong key fails.
//!
//! Run with `cargo run -p mote-cose --example sign1`.

use mote_cose::algorithm::{SignatureAlgorithm, SigningKey};
use mote_cose::header::Header;
use mote_cose::message::{Sign1, Sign1Builder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A fresh key from the operating system's generator: no `rand_core` to name.
    let key = SigningKey::generate_os(SignatureAlgorithm::Es256)?;
    let public = key.verifying_key();

    // `alg` goes into the protected bucket as a typed algorithm (RFC 9052 §3.1).
    let builder = Sign1Builder {
        protected: Header::new().with_alg(SignatureAlgorithm::Es256),
        unprotected: Header::new().with_kid(b"sensor-7"),
        tagged: true,
        detached: false,
    };
    let payload = b"temperature=21.5";
    let message = builder.sign_to_vec(&key, payload, b"")?;
    println!("COSE_Sign1, {} bytes: {}", message.len(), hex(&message));

    // The receiver decodes without copying, picks the key by `kid`, and verifies.
    let received = Sign1::decode(&message)?;
    assert_eq!(received.kid(), Some(&b"sensor-7"[..]));
    assert_eq!(received.algorithm()?, SignatureAlgorithm::Es256);
    let verified = received.verify(&public, b"", None)?;
    assert_eq!(verified, payload);
    println!("verified payload: {}", String::from_utf8_lossy(verified));

    // Another key's signature does not verify; neither does a different external AAD.
    let other = SigningKey::generate_os(SignatureAlgorithm::Es256)?.verifying_key();
    assert_eq!(
        received.verify(&other, b"", None),
        Err(mote_cose::Error::Crypto)
    );
    assert_eq!(
        received.verify(&public, b"context", None),
        Err(mote_cose::Error::Crypto)
    );

    // A flipped payload byte breaks the signature.
    let mut tampered = message.clone();
    let at = message.len() - 64 - 3; // inside the payload, just before the signature's head
    tampered[at] ^= 1;
    let forged = Sign1::decode(&tampered)?;
    assert_eq!(
        forged.verify(&public, b"", None),
        Err(mote_cose::Error::Crypto)
    );
    println!("wrong key, wrong external AAD and a tampered payload are all rejected");
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
