//! The device-build features. A context whose AEAD the build leaves out (mote-cose's
//! `aes-gcm`, `chacha20` and `aes-ccm-64` features, on with `std`) is refused when it is
//! derived, not at its first message; AES-CCM-16-64-128, RFC 8613's default, derives in every
//! build. Without `diagnostics`
//! the errors' texts are empty. Run it also with `--no-default-features --features alloc`
//! (the device configuration).
#![allow(clippy::panic)]

use mote_oscore::context::{aead_from_cose_id, derive_keys};
use mote_oscore::{AeadAlgorithm, Error, SecurityContext, SecurityContextParams};

#[test]
fn gcm_and_chacha20_contexts_derive_only_when_built() {
    let secret = [0x11u8; 16];
    let mut params = SecurityContextParams::new(&secret, &[1], &[2]);
    assert!(derive_keys(&params).is_ok(), "AES-CCM must always derive");
    for (alg, id) in [
        (AeadAlgorithm::A128Gcm, 1),
        (AeadAlgorithm::A256Gcm, 3),
        (AeadAlgorithm::ChaCha20Poly1305, 24),
        (AeadAlgorithm::AesCcm64_64_128, 12),
        (AeadAlgorithm::AesCcm64_128_256, 33),
    ] {
        params.aead = alg;
        // `std` turns mote-cose's `aes-gcm`, `chacha20` and `aes-ccm-64` on; `alloc` alone
        // does not.
        let built = cfg!(feature = "std");
        let context = SecurityContext::new(&params);
        if built {
            assert!(context.is_ok(), "{alg:?} derives with std");
            assert_eq!(aead_from_cose_id(id).ok(), Some(alg));
        } else {
            assert!(matches!(context, Err(Error::UnsupportedAlgorithm(i)) if i == id));
            assert!(
                matches!(aead_from_cose_id(id), Err(Error::UnsupportedAlgorithm(i)) if i == id)
            );
        }
    }
}

#[test]
fn error_texts_only_with_diagnostics() {
    // A parameter RFC 8613 §3.3 forbids: an ID longer than the nonce length minus 6.
    let secret = [0x11u8; 16];
    let params = SecurityContextParams::new(&secret, &[0u8; 8], &[2]);
    match derive_keys(&params).map(|k| k.common_iv) {
        Err(Error::InvalidParameter(text)) => {
            // The variant is the same in every build; the text only with `diagnostics`.
            assert_eq!(text.is_empty(), !cfg!(feature = "diagnostics"), "{text:?}");
        }
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
    // The §8.2 diagnostic payloads are sent in every build.
    let response = Error::DecryptionFailed.server_response();
    assert_eq!(response.map(|r| r.diagnostic), Some("Decryption failed"));
}
