#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod algorithm;
pub mod cbor;
mod error;
pub mod header;
pub mod kdf;
pub mod key;
pub mod message;
#[cfg(feature = "alloc")]
pub mod multi;
pub mod structure;

pub use error::Error;
/// The `rand_core` version (0.6) whose `CryptoRngCore` the `generate` functions take, so a
/// caller names it without adding its own (possibly incompatible) `rand_core` dependency.
/// With feature `std`, `rand_core::OsRng` is the operating system's generator.
pub use rand_core;

/// The code the fuzz targets in `fuzz/` run, kept here so that `workspace-tests/tests/fuzz_corpus_cose.rs` replays
/// the committed corpus through exactly the same code on stable Rust. Not a stable API.
#[doc(hidden)]
pub mod fuzz {
    use crate::cbor::Decoder;

    /// `cose_decode`: every message decoder never panics, and a decoded message re-encodes to
    /// bytes that decode to the same message.
    pub fn cose_decode(data: &[u8]) {
        let _ = crate::message::Encrypt0::decode(data);
        let _ = crate::message::Mac0::decode(data);
        let _ = crate::message::Sign1::decode(data);
        let _ = crate::kdf::KdfContext::decode(data);
        let _ = crate::header::Header::decode(&mut Decoder::new(data), true);
        #[cfg(feature = "alloc")]
        if let Ok(m) = crate::multi::Message::decode(data) {
            let again = m.to_vec();
            assert!(again.is_ok(), "re-encoding a decoded message failed");
            // Preferred serialization only, protected bytes kept, parameter order kept: the
            // re-encoding is the input itself.
            assert!(
                again.as_deref() == Ok(data),
                "re-encoding changed the bytes"
            );
        }
    }

    /// `cose_key_decode`: the COSE_Key decoder never panics, decode(encode(k)) == k, and the
    /// key conversions never panic.
    pub fn cose_key_decode(data: &[u8]) {
        let Ok(k) = crate::key::CoseKey::decode(data) else {
            return;
        };
        let mut buf = [0u8; 512];
        let mut w = crate::cbor::SliceWriter::new(&mut buf);
        if k.encode(&mut crate::cbor::Encoder::new(&mut w)).is_ok() {
            let back = crate::key::CoseKey::decode(w.written());
            assert!(
                back.is_ok_and(|b| b == k),
                "COSE_Key round trip changed the key"
            );
        }
        for alg in [
            crate::algorithm::SignatureAlgorithm::EdDsa,
            crate::algorithm::SignatureAlgorithm::Es256,
            crate::algorithm::SignatureAlgorithm::Es384,
        ] {
            let _ = k.verifying_key(alg);
        }
        let _ = k.ecdh_public();
        let _ = k.symmetric_key();
    }
}
